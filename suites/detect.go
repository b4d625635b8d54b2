package suites

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// DetectOptions tunes Detect. Nil means defaults.
type DetectOptions struct {
	// Path, when set, is the only path probed (--path). Otherwise the base
	// URL's own path, or DefaultPath and DefaultSIOPath when it has none.
	Path string
	// ProbeTimeout bounds each step of a probe (handshake, CONNECT reply,
	// echo); default DetectProbeTimeout.
	ProbeTimeout time.Duration
}

// DetectProbeTimeout bounds each step of a detection probe; a probe has
// at most three steps and all probes run at once, so Detect returns within
// about three of them.
const DetectProbeTimeout = time.Second

// DetectProbe is what one detection probe (one path, one Engine.IO
// revision) saw.
type DetectProbe struct {
	// Path is the endpoint path probed, EIO the revision asked for.
	Path string
	EIO  int
	// Saw says in a few words what came back at each step.
	Saw string
	// Speaks is the suite this endpoint fits, or "" when none.
	Speaks framework.Proto
}

// Detection is what Detect found out about a base URL.
type Detection struct {
	// URL is the base URL probed.
	URL string
	// Probes lists every probe, in path then revision order.
	Probes []DetectProbe
	// Suites are the suites the target fits, in framework.AllSuites order.
	Suites []framework.Proto
	// Paths maps each detected suite to the path where it was found (the
	// first probed path that fits).
	Paths map[framework.Proto]string
}

// Tried renders every probe and its finding, one per line.
func (d *Detection) Tried() string {
	var b strings.Builder
	for _, p := range d.Probes {
		speaks := "no suite"
		if p.Speaks != "" {
			speaks = strings.ToLower(string(p.Speaks))
		}
		fmt.Fprintf(&b, "  %s EIO=%d: %s -> %s\n", p.Path, p.EIO, p.Saw, speaks)
	}
	return strings.TrimRight(b.String(), "\n")
}

// Summary returns the findings as key/value pairs for the report's
// preflight map: "detect.suites" and one "detect.<path>.eio<N>" per probe.
func (d *Detection) Summary() map[string]string {
	m := map[string]string{"detect.suites": orNothing(framework.FormatSuites(d.Suites))}
	for _, p := range d.Probes {
		v := p.Saw
		if p.Speaks != "" {
			v = strings.ToLower(string(p.Speaks)) + ": " + v
		}
		m[fmt.Sprintf("detect.%s.eio%d", p.Path, p.EIO)] = v
	}
	return m
}

// Command returns a siospec command line that runs the detected suites
// against the detected paths, or "" when nothing was detected.
func (d *Detection) Command() string {
	if len(d.Suites) == 0 {
		return ""
	}
	base := d.URL
	u, err := url.Parse(d.URL)
	if err == nil {
		// A suite found away from its default path needs the path in the
		// URL; one command can carry one path only.
		for _, p := range d.Suites {
			if path := d.Paths[p]; path != p.DefaultPath() && (u.Path == "" || u.Path == "/") {
				v := *u
				v.Path = path
				return fmt.Sprintf("siospec server --url %s --suite %s", v.String(), framework.FormatSuites(d.onPath(path)))
			}
		}
	}
	return fmt.Sprintf("siospec server --url %s --suite %s", base, framework.FormatSuites(d.Suites))
}

func (d *Detection) onPath(path string) []framework.Proto {
	var out []framework.Proto
	for _, p := range d.Suites {
		if d.Paths[p] == path {
			out = append(out, p)
		}
	}
	return out
}

func orNothing(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Detect finds out what the server at baseURL speaks: on each candidate
// path (DetectOptions.Path, else the URL's own path, else DefaultPath and
// DefaultSIOPath) and for EIO=4 and EIO=3 it opens a polling session and
//
//   - EIO=4: sends a Socket.IO CONNECT to "/" (40) and reads the answer: a
//     CONNECT carrying a sid is Socket.IO v5;
//   - EIO=3: waits for the CONNECT to "/" that a Socket.IO v4 server sends
//     unasked;
//   - otherwise sends a unique message and expects it back: an Engine.IO
//     echo server (eio4 or eio3).
//
// A Socket.IO server answers Engine.IO handshakes but never echoes, so it
// gets only Socket.IO suites. Probes run concurrently, each step within
// ProbeTimeout; every session is closed before Detect returns. The error
// is non-nil only for a URL that does not parse.
func Detect(ctx context.Context, baseURL string, opts *DetectOptions) (*Detection, error) {
	o := DetectOptions{ProbeTimeout: DetectProbeTimeout}
	if opts != nil {
		o.Path = opts.Path
		if opts.ProbeTimeout > 0 {
			o.ProbeTimeout = opts.ProbeTimeout
		}
	}
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: detect: %q is not an absolute URL", framework.ErrUsage, baseURL)
	}
	paths := []string{framework.DefaultPath, framework.DefaultSIOPath}
	switch {
	case o.Path != "":
		paths = []string{o.Path}
	case u.Path != "" && u.Path != "/":
		paths = []string{u.Path}
	}
	base := *u
	base.Path, base.RawQuery, base.Fragment = "", "", ""
	d := &Detection{URL: baseURL, Paths: map[framework.Proto]string{}}
	for _, p := range paths {
		for _, v := range []int{4, 3} {
			d.Probes = append(d.Probes, DetectProbe{Path: p, EIO: v})
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 4*o.ProbeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range d.Probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr := &d.Probes[i]
			pr.Saw, pr.Speaks = probeEndpoint(ctx, base.String(), pr.Path, pr.EIO, o.ProbeTimeout)
		}()
	}
	wg.Wait()
	for _, pr := range d.Probes {
		if pr.Speaks != "" && d.Paths[pr.Speaks] == "" {
			d.Paths[pr.Speaks] = pr.Path
			d.Suites = append(d.Suites, pr.Speaks)
		}
	}
	slices.SortFunc(d.Suites, func(a, b framework.Proto) int {
		return slices.Index(framework.AllSuites, a) - slices.Index(framework.AllSuites, b)
	})
	return d, nil
}

// detectEcho is the message of the echo probe.
const detectEcho = "siospec-detect-echo"

// probeEndpoint runs one probe and returns what it saw and the suite that
// fits ("" for none).
func probeEndpoint(ctx context.Context, base, path string, eio int, step time.Duration) (string, framework.Proto) {
	c, err := framework.NewClient(&framework.Config{URL: base, Path: path, EIO: eio}, nil)
	if err != nil {
		return err.Error(), ""
	}
	defer c.Close()
	var saw []string
	q := c.PollQuery()
	if eio == 3 {
		q.Set("b64", "1")
	}
	hctx, cancel := context.WithTimeout(ctx, step)
	r, err := c.Do(hctx, framework.Request{Query: q})
	cancel()
	if err != nil {
		return "handshake: " + shortErr(err), ""
	}
	if r.Status != http.StatusOK {
		return fmt.Sprintf("handshake: HTTP %d %q", r.Status, trimBody(r.Body)), ""
	}
	pkts, err := c.DecodePayload(r)
	if err != nil || len(pkts) == 0 || pkts[0].Type != engineio.Open {
		return fmt.Sprintf("handshake: not an open packet (%q)", trimBody(r.Body)), ""
	}
	var op struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(pkts[0].Data, &op); err != nil || op.SID == "" {
		return fmt.Sprintf("handshake: open packet without sid (%q)", trimBody(pkts[0].Data)), ""
	}
	saw = append(saw, "handshake ok")
	s := &detectSession{c: c, q: q, sid: op.SID, step: step, pending: pkts[1:]}
	defer s.close(ctx)

	// The Socket.IO CONNECT to "/".
	proto := framework.SIO5
	if eio == 3 {
		proto = framework.SIO4
	} else if err := s.send(ctx, "0"); err != nil {
		return strings.Join(append(saw, "CONNECT: "+shortErr(err)), ", "), ""
	}
	m, err := s.next(ctx)
	switch {
	case err != nil:
		saw = append(saw, "CONNECT: no answer ("+shortErr(err)+")")
	case eio == 3 && m == "0", eio == 4 && isConnectWithSID(m):
		return strings.Join(append(saw, fmt.Sprintf("CONNECT / answered %q", "4"+m)), ", "), proto
	case strings.HasPrefix(m, "4"):
		// CONNECT_ERROR: Socket.IO, but "/" is refused: no suite fits.
		return strings.Join(append(saw, fmt.Sprintf("CONNECT / refused %q", "4"+m)), ", "), ""
	default:
		saw = append(saw, fmt.Sprintf("CONNECT: got %q", "4"+m))
	}

	// The Engine.IO echo.
	if err := s.send(ctx, detectEcho); err != nil {
		return strings.Join(append(saw, "echo: "+shortErr(err)), ", "), ""
	}
	for range 3 {
		m, err = s.next(ctx)
		if err != nil || m == detectEcho {
			break
		}
	}
	switch {
	case err != nil:
		return strings.Join(append(saw, "echo: none ("+shortErr(err)+")"), ", "), ""
	case m != detectEcho:
		return strings.Join(append(saw, fmt.Sprintf("echo: got %q", "4"+m)), ", "), ""
	}
	if eio == 3 {
		proto = framework.EIO3
	} else {
		proto = framework.EIO4
	}
	return strings.Join(append(saw, "echo ok"), ", "), proto
}

// isConnectWithSID reports whether the message m (Engine.IO data) is a
// Socket.IO v5 CONNECT to "/" with a sid in its payload.
func isConnectWithSID(m string) bool {
	rest, ok := strings.CutPrefix(m, "0")
	if !ok {
		return false
	}
	var p struct {
		SID string `json:"sid"`
	}
	return json.Unmarshal([]byte(rest), &p) == nil && p.SID != ""
}

// detectSession is a bare polling session of a detection probe.
type detectSession struct {
	c       *framework.Client
	q       url.Values
	sid     string
	step    time.Duration
	pending []engineio.Packet
	ended   bool
}

func (s *detectSession) query() url.Values {
	q := url.Values{}
	for k, v := range s.q {
		q[k] = v
	}
	q.Set("sid", s.sid)
	return q
}

func (s *detectSession) send(ctx context.Context, data string) error {
	return s.post(ctx, engineio.TextPacket(engineio.Message, data))
}

func (s *detectSession) post(ctx context.Context, p engineio.Packet) error {
	ctx, cancel := context.WithTimeout(ctx, s.step)
	defer cancel()
	r, err := s.c.Do(ctx, framework.Request{Method: http.MethodPost, Query: s.query(), Body: s.c.EncodePayload(p)})
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("HTTP %d", r.Status)
	}
	return nil
}

// next returns the data of the next message packet within one step,
// answering pings (v4) on the way. A v3 server expects the client's pings
// and closes a silent session after pingInterval+pingTimeout, so for v3
// every poll follows a ping, whose pong makes the poll return at once:
// what a v3 server sends unasked (the implicit CONNECT) or in answer to a
// message (the echo) is queued by then, so three rounds are enough.
func (s *detectSession) next(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.step)
	defer cancel()
	v3 := s.c.Version() == engineio.V3
	rounds := 10
	if v3 {
		rounds = 3
	}
	for range rounds {
		for len(s.pending) > 0 {
			p := s.pending[0]
			s.pending = s.pending[1:]
			switch p.Type {
			case engineio.Message:
				return string(p.Data), nil
			case engineio.Ping:
				if s.c.Version() == engineio.V4 {
					_ = s.post(ctx, engineio.TextPacket(engineio.Pong, string(p.Data)))
				}
			case engineio.Close:
				s.ended = true
				return "", fmt.Errorf("session closed by the server")
			}
		}
		if s.ended {
			return "", fmt.Errorf("session ended")
		}
		if v3 {
			if err := s.post(ctx, engineio.TextPacket(engineio.Ping, "")); err != nil {
				s.ended = true
				return "", err
			}
		}
		r, err := s.c.Do(ctx, framework.Request{Query: s.query()})
		if err != nil {
			s.ended = ctx.Err() == nil || s.ended
			return "", err
		}
		if r.Status != http.StatusOK {
			s.ended = true
			return "", fmt.Errorf("poll: HTTP %d", r.Status)
		}
		pkts, err := s.c.DecodePayload(r)
		if err != nil {
			return "", err
		}
		s.pending = pkts
	}
	return "", fmt.Errorf("no message in %d polls", rounds)
}

// close ends the session politely unless the server already did.
func (s *detectSession) close(ctx context.Context) {
	if !s.ended {
		_ = s.post(context.WithoutCancel(ctx), engineio.TextPacket(engineio.Close, ""))
	}
}

func shortErr(err error) string {
	switch {
	case err == nil:
		return ""
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "deadline exceeded"):
		return "timed out"
	}
	return err.Error()
}

func trimBody(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}
