package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
)

// ErrUnknownProfile is returned (wrapped) for an unknown profile name.
var ErrUnknownProfile = errors.New("faultproxy: unknown profile")

// ProfileOptions parameterises a profile. The zero value (or nil) gives each
// profile its defaults; fields a profile does not use are ignored.
type ProfileOptions struct {
	// Backends are the servers non-sticky-lb balances over (host:port, at
	// least two; required by that profile).
	Backends []string
	// Idle is idle-timeout-lb's idle and read timeout. Default 60s (the
	// AWS ALB and nginx default).
	Idle time.Duration
	// After is when server-crash and half-open strike, from the moment the
	// profile is applied (not from each connection's accept). Default 0
	// (at once).
	After time.Duration
	// For is how long half-open's network loss lasts: the connections it
	// struck get their held bytes when it ends. Default 0 (until the
	// profile is removed). Connections opened after the loss began are
	// never affected, whatever For is.
	For time.Duration
	// Downtime is how long server-crash keeps the server down. Default 2s.
	Downtime time.Duration
	// HoldBytes is antivirus-buffering's WebSocket buffer (ws_buffer_frames
	// until_bytes). Default 4096.
	HoldBytes int64
	// Process, if set, is the server under test: server-crash then kills
	// it with SIGKILL and restarts it after Downtime (process.Crash) instead
	// of taking the proxy down.
	Process *process.Process
}

// profileOptionsJSON is the control API's and the command line's form of
// ProfileOptions.
type profileOptionsJSON struct {
	Backends   []string `json:"backends"`
	IdleMS     int64    `json:"idle_ms"`
	AfterMS    int64    `json:"after_ms"`
	ForMS      int64    `json:"for_ms"`
	DowntimeMS int64    `json:"downtime_ms"`
	HoldBytes  int64    `json:"hold_bytes"`
}

// ParseProfileOptions decodes the JSON form of [ProfileOptions]:
// {"backends": [...], "idle_ms": n, "after_ms": n, "for_ms": n, "downtime_ms": n,
// "hold_bytes": n}. Empty input gives the defaults.
func ParseProfileOptions(data []byte) (*ProfileOptions, error) {
	var in profileOptionsJSON
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, jsonFieldError("profile options", err)
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"idle_ms", in.IdleMS}, {"after_ms", in.AfterMS}, {"for_ms", in.ForMS}, {"downtime_ms", in.DowntimeMS}, {"hold_bytes", in.HoldBytes}} {
		if f.v < 0 || f.v > 1<<40 {
			return nil, &FieldError{Fault: "profile options", Field: f.name, Attr: f.name, Reason: "must be in [0, 2^40]"}
		}
	}
	return &ProfileOptions{
		Backends:  in.Backends,
		Idle:      time.Duration(in.IdleMS) * time.Millisecond,
		After:     time.Duration(in.AfterMS) * time.Millisecond,
		For:       time.Duration(in.ForMS) * time.Millisecond,
		Downtime:  time.Duration(in.DowntimeMS) * time.Millisecond,
		HoldBytes: in.HoldBytes,
	}, nil
}

// Profile is a named bundle of faults modelling one real-world failure mode
// (faults doc A9). Build one with [NewProfile] and apply it with
// [Proxy.ApplyProfile].
type Profile struct {
	// Name is the profile's name, e.g. "corporate-firewall".
	Name string
	// Faults are added to the proxy together, named "<profile>.<type>".
	Faults []Fault
	// Crash, with Process, is a process-level fault applied After the
	// profile is applied (server-crash with a process).
	Crash   *process.Crash
	Process *process.Process
	// CrashMode says how server-crash crashes the server: [CrashModeProcess]
	// or [CrashModeProxy]; "" for the other profiles.
	CrashMode string
}

// Crash modes of the server-crash profile (see [Profile.CrashMode] and
// [ProfileHandle.CrashMode]); a verdict under server-crash should say which
// one ran.
const (
	// CrashModeProcess: the server process was killed (SIGKILL) and
	// restarted after Downtime; its state (sessions, rooms) is lost, so
	// old sids must be refused.
	CrashModeProcess = "process"
	// CrashModeProxy: the proxy reset every open connection and refused
	// new ones for Downtime; the server itself kept running with its
	// state, so it still knows the old sessions until they time out.
	CrashModeProxy = "proxy"
)

// CrashModeDetail describes a crash mode in one sentence, for logs and
// verdicts.
func CrashModeDetail(mode string, downtime time.Duration) string {
	switch mode {
	case CrashModeProcess:
		return fmt.Sprintf("crash mode process: the server process is killed (SIGKILL) and restarted after %s; its state is lost", downtime)
	case CrashModeProxy:
		return fmt.Sprintf("crash mode proxy: the proxy resets open connections and refuses new ones for %s; the server keeps running with its state (a real crash would lose it)", downtime)
	}
	return ""
}

// ProfileSpec documents one profile: what it models, what it does, and what
// a compliant client and server do under it, naming requirement IDs.
type ProfileSpec struct {
	Name      string `json:"name"`
	Models    string `json:"models"`
	Faults    string `json:"faults"`
	Client    string `json:"client"`
	Server    string `json:"server"`
	Reference string `json:"reference"` // section of the faults doc
}

// Profiles returns the profile catalogue, sorted by name.
func Profiles() []ProfileSpec {
	out := []ProfileSpec{
		{
			Name:      "corporate-firewall",
			Models:    "a firewall or corporate proxy that refuses WebSocket: every upgrade request is answered 403 by the proxy itself",
			Faults:    "http_reject_upgrade{status: 403}",
			Client:    "starts on polling (EIO-UPG-01); the failed probe is not fatal: upgradeError, stays on polling with the same session, messages and acks keep flowing (EIO-UPG-13, EIO-POLL-17); no reconnect loop",
			Server:    "never sees the upgrade; the polling session is unaffected and keeps its heartbeat (EIO-HB-01)",
			Reference: "A9.2",
		},
		{
			Name:      "ws-stripping-proxy",
			Models:    "a proxy that drops the hop-by-hop Upgrade/Connection/Sec-WebSocket-* headers and forwards the upgrade as a plain GET",
			Faults:    "http_strip_upgrade",
			Client:    "treats the failed probe as non-fatal and stays on polling (EIO-UPG-13); messages keep flowing",
			Server:    "answers the plain websocket-transport GET with 400 (Node: code 3, EIO-HS-08) and keeps the polling session alive",
			Reference: "A9.1",
		},
		{
			Name:      "antivirus-buffering",
			Models:    "antivirus software that scans HTTP responses whole and buffers WebSocket frames until it has enough to scan",
			Faults:    "http_buffer_response{until: complete}, ws_buffer_frames{downstream, until_bytes: hold_bytes (4096)}",
			Client:    "commits to WebSocket only after the probe round trip (EIO-UPG-02, EIO-UPG-05): the held 3probe keeps it on polling, where messages flow (EIO-UPG-13); nothing is lost or duplicated (EIO-UPG-12)",
			Server:    "polling responses carry a Content-Length and are flushed whole (EIO-POLL-14), so whole-response buffering costs nothing; the probe WebSocket that never gets 5 is closed after upgradeTimeout while polling is unaffected (EIO-UPG-10)",
			Reference: "A9.3",
		},
		{
			Name:      "idle-timeout-lb",
			Models:    "a load balancer or reverse proxy with an idle timeout and a read timeout (AWS ALB, nginx proxy_read_timeout: 60 s)",
			Faults:    "idle_timeout{idle_ms}, http_response_timeout{timeout_ms = idle_ms, status 504}",
			Client:    "with idle_ms > pingInterval + margin, nothing is cut because the server's pings are traffic; when shorter, the cut WebSocket or the 504 on a long-poll closes the transport and the client reconnects with a new session (NODE-RECON-01, NODE-RECON-04)",
			Server:    "sends a PING every pingInterval (EIO-HB-01), which keeps every connection busy; a cut session is closed, and later requests with its sid get 400 (EIO-POLL-06)",
			Reference: "A9.4",
		},
		{
			Name:      "non-sticky-lb",
			Models:    "a load balancer without sticky sessions in front of several server instances",
			Faults:    "lb_round_robin{backends, sticky: none}",
			Client:    "a polling client hits instances that do not know its sid; it treats the 400 as a transport error and re-handshakes with backoff, not in a tight loop (NODE-RECON-01, NODE-RECON-02); a WebSocket-only client is unaffected",
			Server:    "answers an unknown sid with HTTP 400, Node body {\"code\":1,\"message\":\"Session ID unknown\"} (EIO-POLL-06); never 500, never a silent new session",
			Reference: "A9.5",
		},
		{
			Name:      "server-crash",
			Models:    "the server crashes mid-session and comes back after downtime_ms",
			Faults:    "crash mode process (with a faultproxy/process.Process): process_restart{signal SIGKILL, downtime_ms} at after_ms, the server's state is lost; crash mode proxy (without one, e.g. siospec proxy): down{mode: rst_all, after_ms, for_ms: downtime_ms}, open connections reset and new ones refused while the server keeps its state; the crash_mode decision and ProfileHandle.CrashMode say which ran",
			Client:    "sees the reset at once, reports a transport close or error, reconnects with jittered backoff (NODE-RECON-01, NODE-RECON-02) and performs a new handshake with a new sid (NODE-RECON-04)",
			Server:    "after a restart that lost state (crash mode process), answers old sids with 400 (EIO-POLL-06); in crash mode proxy it still knows them until its heartbeat closes them, so that verdict needs crash mode process",
			Reference: "A9.8",
		},
		{
			Name:      "half-open",
			Models:    "silent network loss: sockets stay open, nothing arrives either way (Wi-Fi off, a NAT that forgot the flow)",
			Faults:    "blackhole{both, existing} after_ms after the profile is applied, on the connections open then, for for_ms (default: until removed); connections opened later pass, so the client can reconnect",
			Client:    "closes with \"ping timeout\" when no PING arrives within pingInterval + pingTimeout (EIO-HB-04, SHOULD) and reconnects on a new connection, which passes (NODE-RECON-01)",
			Server:    "closes the session when no PONG arrives within pingTimeout of a PING (EIO-HB-03, SHOULD)",
			Reference: "A9.9",
		},
		{
			Name:      "mobile-3g",
			Models:    "a slow mobile link: about 200 ms round trip with jitter and 750 kbit/s each way",
			Faults:    "latency{both, 100 ms ± 20 ms}, bandwidth{both, 94 KB/s}",
			Client:    "answers each PING promptly (EIO-HB-02) and counts any inbound packet as liveness, so the session survives; messages, acks and binary arrive intact",
			Server:    "judges liveness against the negotiated pingTimeout only; with the default 20 s nothing times out",
			Reference: "A9.10",
		},
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NewProfile builds the named profile (see [Profiles]) with opts (nil for
// defaults). Unknown names wrap [ErrUnknownProfile]; bad options are
// *[FieldError].
func NewProfile(name string, opts *ProfileOptions) (Profile, error) {
	var o ProfileOptions
	if opts != nil {
		o = *opts
	}
	if o.Idle < 0 || o.After < 0 || o.For < 0 || o.Downtime < 0 || o.HoldBytes < 0 {
		return Profile{}, &FieldError{Fault: name, Field: "ProfileOptions", Attr: "options", Reason: "durations and sizes must not be negative"}
	}
	if o.Idle == 0 {
		o.Idle = 60 * time.Second
	}
	if o.Downtime == 0 {
		o.Downtime = 2 * time.Second
	}
	if o.HoldBytes == 0 {
		o.HoldBytes = 4096
	}
	n := func(typ string) string { return name + "." + typ }
	pr := Profile{Name: name}
	switch name {
	case "corporate-firewall":
		pr.Faults = []Fault{HTTPRejectUpgrade{Name: n("http_reject_upgrade"), Status: 403, Body: "WebSocket is blocked by policy\n"}}
	case "ws-stripping-proxy":
		pr.Faults = []Fault{HTTPStripUpgrade{Name: n("http_strip_upgrade")}}
	case "antivirus-buffering":
		pr.Faults = []Fault{
			HTTPBufferResponse{Name: n("http_buffer_response"), Until: BufferComplete},
			WSBufferFrames{Name: n("ws_buffer_frames"), Direction: Downstream, UntilBytes: o.HoldBytes},
		}
	case "idle-timeout-lb":
		pr.Faults = []Fault{
			IdleTimeout{Name: n("idle_timeout"), Idle: o.Idle},
			HTTPResponseTimeout{Name: n("http_response_timeout"), Timeout: o.Idle, Status: 504},
		}
	case "non-sticky-lb":
		if len(o.Backends) < 2 {
			return Profile{}, &FieldError{Fault: name, Field: "Backends", Attr: "backends", Reason: "name at least two backends"}
		}
		pr.Faults = []Fault{LBRoundRobin{Name: n("lb_round_robin"), Backends: o.Backends, Sticky: StickyNone}}
	case "server-crash":
		if o.Process != nil {
			pr.Crash = &process.Crash{After: o.After, Signal: syscall.SIGKILL, Restart: true, Downtime: o.Downtime}
			pr.Process = o.Process
			pr.CrashMode = CrashModeProcess
		} else {
			pr.Faults = []Fault{Down{Name: n("down"), Mode: DownResetAll, Scope: Scope{After: o.After, For: o.Downtime}}}
			pr.CrashMode = CrashModeProxy
		}
	case "half-open":
		pr.Faults = []Fault{Blackhole{Name: n("blackhole"), Direction: Both, Scope: Scope{After: o.After, For: o.For, Existing: true}}}
	case "mobile-3g":
		pr.Faults = []Fault{
			Latency{Name: n("latency"), Direction: Both, Latency: 100 * time.Millisecond, Jitter: 20 * time.Millisecond},
			Bandwidth{Name: n("bandwidth"), Direction: Both, RateKBps: 94},
		}
	default:
		return Profile{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownProfile, name, profileNames())
	}
	for _, f := range pr.Faults {
		if err := f.Validate(); err != nil {
			return Profile{}, err
		}
	}
	if pr.Crash != nil {
		if err := pr.Crash.Validate(); err != nil {
			return Profile{}, fmt.Errorf("faultproxy: profile %s: %w", name, err)
		}
	}
	return pr, nil
}

func profileNames() string {
	var b bytes.Buffer
	for i, s := range Profiles() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.Name)
	}
	return b.String()
}

// ProfileHandle refers to a profile applied to a proxy.
type ProfileHandle struct {
	p       *Proxy
	name    string
	mode    string
	handles []*Handle
	stop    chan struct{}
	once    sync.Once
}

// CrashDetail describes the profile's crash mode in one sentence (see
// [CrashModeDetail]); "" when it has none.
func (pr Profile) CrashDetail() string { return CrashModeDetail(pr.CrashMode, pr.downtime()) }

// downtime is how long a crash keeps the server away.
func (pr Profile) downtime() time.Duration {
	if pr.Crash != nil {
		return pr.Crash.Downtime
	}
	for _, f := range pr.Faults {
		if d, ok := f.(Down); ok {
			return d.Scope.For
		}
	}
	return 0
}

// CrashMode returns [CrashModeProcess] or [CrashModeProxy] for server-crash
// (which one this application runs), "" for the other profiles.
func (h *ProfileHandle) CrashMode() string { return h.mode }

// Handles returns the handles of the profile's faults.
func (h *ProfileHandle) Handles() []*Handle { return append([]*Handle(nil), h.handles...) }

// Remove removes the profile's faults and cancels a process fault that has
// not fired yet (one in progress completes: a restarted server stays up).
// Idempotent.
func (h *ProfileHandle) Remove() error {
	h.once.Do(func() {
		close(h.stop)
		for _, fh := range h.handles {
			_ = fh.Remove()
		}
	})
	return nil
}

// ApplyProfile adds every fault of pr to the proxy (all or none) and, for a
// process fault, schedules it; its actions are logged as decisions of fault
// pr.Name.
func (p *Proxy) ApplyProfile(pr Profile) (*ProfileHandle, error) {
	h := &ProfileHandle{p: p, name: pr.Name, mode: pr.CrashMode, stop: make(chan struct{})}
	p.noteCrashMode(pr)
	for _, f := range pr.Faults {
		fh, err := p.Add(f)
		if err != nil {
			_ = h.Remove()
			return nil, fmt.Errorf("faultproxy: profile %s: %w", pr.Name, err)
		}
		h.handles = append(h.handles, fh)
	}
	if pr.Crash != nil && pr.Process != nil {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = h.Remove()
			return nil, ErrClosed
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.runCrash(h, pr)
	}
	return h, nil
}

// noteCrashMode logs which crash mode a server-crash profile runs (a
// "crash_mode" decision of fault pr.Name, connection 0, step 1).
func (p *Proxy) noteCrashMode(pr Profile) {
	if pr.CrashMode != "" {
		p.decide(Decision{Fault: pr.Name, Type: "profile", Direction: Both, Step: 1, Action: "crash_mode",
			Detail: pr.CrashDetail()})
	}
}

// runCrash applies a profile's process fault at its offset.
func (p *Proxy) runCrash(h *ProfileHandle, pr Profile) {
	defer p.wg.Done()
	step := uint64(1) // 1 is ApplyProfile's crash_mode decision
	decide := func(action, detail string) {
		step++
		p.decide(Decision{Fault: pr.Name, Type: pr.Crash.Name(), Direction: Both, Step: step, Action: action, Detail: detail})
	}
	if d := pr.Crash.At(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-h.stop:
			t.Stop()
			return
		case <-p.ctx.Done():
			t.Stop()
			return
		}
	}
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	decide("crash", pr.Crash.String())
	if err := pr.Crash.Apply(ctx, pr.Process); err != nil {
		decide("error", err.Error())
		return
	}
	decide("up", "restarted after "+pr.Crash.Downtime.String())
}
