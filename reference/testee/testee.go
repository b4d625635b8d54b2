package testee

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
)

// Exit codes of the contract.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUnsupported = 127
)

// Suites this testee runs.
const (
	SuiteEIO4 = "eio4"
	SuiteEIO3 = "eio3"
	SuiteSIO5 = "sio5"
	SuiteSIO4 = "sio4"
)

// ErrConfig is matched (errors.Is) by every error of a bad environment.
var ErrConfig = errors.New("testee: bad configuration")

// Options configures Run. A nil *Options, and every zero field, means the
// default written beside the field.
type Options struct {
	// URL is SIOSPEC_URL: the case's server URL, path included.
	URL string
	// Suite is SIOSPEC_SUITE: eio4, eio3, sio5 or sio4.
	Suite string
	// Case is SIOSPEC_CASE.
	Case string
	// Transports is SIOSPEC_TRANSPORTS: "polling,websocket" (default),
	// "websocket" or "polling".
	Transports string
	// ClientOptions is SIOSPEC_OPTIONS, a JSON object (default "{}").
	ClientOptions string
	// Seed is SIOSPEC_SEED; it seeds the reconnection jitter.
	Seed int64
	// Cases tells whether a case exists in a suite. Default nil: no case
	// exists, so every run exits 127.
	Cases func(suite, name string) bool
	// Library is written in the ready report. Default "siospec reference
	// client".
	Library string
	// Stdin ends the run at end of file. Default nil: never.
	Stdin io.Reader
	// Stdout receives the report lines. Default: discard.
	Stdout io.Writer
	// Logger receives the clients' debug logs and the testee's own
	// diagnostics (the contract's stderr). Default: discard.
	Logger *slog.Logger
	// RequestTimeout bounds the reference client's requests (eioclient's
	// Options.RequestTimeout). Default: eioclient's 10 s.
	RequestTimeout time.Duration
}

// OptionsFromEnv reads the contract's environment through getenv (for
// example os.Getenv). Seed is 0 when SIOSPEC_SEED is empty; a seed that is
// not a decimal integer is an error matching ErrConfig.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{
		URL:           getenv("SIOSPEC_URL"),
		Suite:         getenv("SIOSPEC_SUITE"),
		Case:          getenv("SIOSPEC_CASE"),
		Transports:    getenv("SIOSPEC_TRANSPORTS"),
		ClientOptions: getenv("SIOSPEC_OPTIONS"),
	}
	if s := getenv("SIOSPEC_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return o, fmt.Errorf("%w: SIOSPEC_SEED %q is not a decimal integer", ErrConfig, s)
		}
		o.Seed = n
	}
	return o, nil
}

// config is Options checked and parsed.
type config struct {
	Options
	url        *url.URL
	transports []string
	opts       socketio.Object
}

func (o *Options) parse() (config, error) {
	c := config{Options: *o}
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" {
		return c, fmt.Errorf("%w: SIOSPEC_URL %q is not an absolute URL", ErrConfig, o.URL)
	}
	c.url = u
	switch o.Transports {
	case "", "polling,websocket":
		c.transports = []string{"polling", "websocket"}
	case "websocket", "polling":
		c.transports = []string{o.Transports}
	default:
		return c, fmt.Errorf("%w: SIOSPEC_TRANSPORTS %q", ErrConfig, o.Transports)
	}
	raw := o.ClientOptions
	if strings.TrimSpace(raw) == "" {
		raw = "{}"
	}
	v, err := socketio.ParseJSON([]byte(raw))
	if err != nil {
		return c, fmt.Errorf("%w: SIOSPEC_OPTIONS: %w", ErrConfig, err)
	}
	obj, ok := v.(socketio.Object)
	if !ok {
		return c, fmt.Errorf("%w: SIOSPEC_OPTIONS is not a JSON object", ErrConfig)
	}
	c.opts = obj
	if c.Library == "" {
		c.Library = "siospec reference client"
	}
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Run runs one case and returns the contract's exit status: the exit
// command's code, 0 at end of Stdin or when ctx ends, 1 for a bad
// configuration, 127 for a suite or case this testee does not run.
func Run(ctx context.Context, opts *Options) int {
	var o Options
	if opts != nil {
		o = *opts
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch o.Suite {
	case SuiteEIO4, SuiteEIO3, SuiteSIO5, SuiteSIO4:
	default:
		log.Error("testee: unsupported suite", "suite", o.Suite)
		return ExitUnsupported
	}
	if o.Cases == nil || !o.Cases(o.Suite, o.Case) {
		log.Error("testee: unsupported case", "suite", o.Suite, "case", o.Case)
		return ExitUnsupported
	}
	c, err := o.parse()
	if err != nil {
		log.Error(err.Error())
		return ExitError
	}
	r := newRun(ctx, c)
	return r.main()
}

// run is one case in progress.
type run struct {
	cfg  config
	log  *slog.Logger
	out  *reporter
	net  *netTracker
	ctx  context.Context // ends when the run ends
	stop context.CancelFunc
	wg   sync.WaitGroup
	exit chan int // the exit command's code
}

func newRun(ctx context.Context, c config) *run {
	rctx, stop := context.WithCancel(ctx)
	return &run{
		cfg:  c,
		log:  c.Logger,
		out:  &reporter{w: c.Stdout},
		net:  &netTracker{conns: map[*trackedConn]struct{}{}},
		ctx:  rctx,
		stop: stop,
		exit: make(chan int, 1),
	}
}

// requestExit ends the run with code (the first request wins).
func (r *run) requestExit(code int) {
	select {
	case r.exit <- code:
	default:
	}
}

// goFn runs f on a goroutine that the run waits for.
func (r *run) goFn(f func()) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

func (r *run) main() int {
	eof := make(chan struct{})
	if in := r.cfg.Stdin; in != nil {
		// Not waited for: it ends when Stdin does (see the package doc).
		go func() {
			_, _ = io.Copy(io.Discard, in)
			close(eof)
		}()
	}
	r.out.report("ready", "library", r.cfg.Library)
	var closeClient func()
	if r.cfg.Suite == SuiteEIO4 || r.cfg.Suite == SuiteEIO3 {
		closeClient = r.runEIO()
	} else {
		closeClient = r.runSIO()
	}
	code := ExitOK
	select {
	case code = <-r.exit:
	case <-eof:
		r.log.Debug("testee: stdin closed")
	case <-r.ctx.Done():
		r.log.Debug("testee: stopped", "err", r.ctx.Err())
	}
	// End like a process: no more reports, no more bytes on the wire.
	r.out.silence()
	r.net.abort()
	r.stop()
	closeClient()
	r.wg.Wait()
	return code
}

// reporter writes report lines, one Write each.
type reporter struct {
	mu     sync.Mutex
	w      io.Writer
	silent bool
}

// report writes {"ev":ev, kv...}; kv alternates keys and values.
func (p *reporter) report(ev string, kv ...any) {
	obj := socketio.Object{{Key: "ev", Value: ev}}
	for i := 0; i+1 < len(kv); i += 2 {
		obj = append(obj, socketio.Member{Key: kv[i].(string), Value: toReport(kv[i+1])})
	}
	line, err := socketio.AppendJSON(nil, obj)
	if err != nil {
		line, _ = socketio.AppendJSON(nil, socketio.Object{{Key: "ev", Value: "error"}, {Key: "message", Value: "testee: unencodable report " + ev + ": " + err.Error()}})
	}
	line = append(line, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.silent {
		return
	}
	_, _ = p.w.Write(line)
}

func (p *reporter) silence() {
	p.mu.Lock()
	p.silent = true
	p.mu.Unlock()
}

// toReport turns []byte into {"_bin": base64}, deep.
func toReport(v any) any {
	switch v := v.(type) {
	case []byte:
		return socketio.Object{{Key: "_bin", Value: base64.StdEncoding.EncodeToString(v)}}
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = toReport(x)
		}
		return out
	case socketio.Object:
		out := make(socketio.Object, len(v))
		for i, m := range v {
			out[i] = socketio.Member{Key: m.Key, Value: toReport(m.Value)}
		}
		return out
	}
	return v
}

// fromReport turns {"_bin": base64} into []byte, deep. A bad base64 string
// is an error.
func fromReport(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			y, err := fromReport(x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case socketio.Object:
		if len(v) == 1 && v[0].Key == "_bin" {
			if s, ok := v[0].Value.(string); ok {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf("bad _bin value: %w", err)
				}
				return b, nil
			}
		}
		out := make(socketio.Object, len(v))
		for i, m := range v {
			y, err := fromReport(m.Value)
			if err != nil {
				return nil, err
			}
			out[i] = socketio.Member{Key: m.Key, Value: y}
		}
		return out, nil
	}
	return v, nil
}

// command is one parsed command object.
type command struct {
	obj socketio.Object
	cmd string
	tag any // copied as it came (a string by the contract)
}

func parseCommand(v any) (command, error) {
	obj, ok := v.(socketio.Object)
	if !ok {
		return command{}, errors.New("command is not a JSON object")
	}
	c := command{obj: obj}
	c.cmd, _ = c.str("cmd")
	c.tag, _ = obj.Get("tag")
	if c.cmd == "" {
		return c, errors.New("command has no cmd")
	}
	return c, nil
}

func (c command) str(key string) (string, bool) {
	v, ok := c.obj.Get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

func (c command) num(key string) (float64, bool) {
	v, ok := c.obj.Get(key)
	f, isNum := v.(float64)
	return f, ok && isNum
}

func (c command) boolean(key string) bool {
	v, _ := c.obj.Get(key)
	b, _ := v.(bool)
	return b
}

// exitCode returns the exit command's code (default 0).
func (c command) exitCode() int {
	if f, ok := c.num("code"); ok && f >= 0 && f <= 255 {
		return int(f)
	}
	return 0
}

func (r *run) done(c command) { r.out.report("done", "cmd", c.cmd, "tag", c.tag) }

func (r *run) unsupported(c command, msg string) {
	r.out.report("unsupported", "cmd", c.cmd, "tag", c.tag, "message", msg)
}

// optionUnsupported reports a client option the reference cannot honour.
func (r *run) optionUnsupported(key, why string) {
	r.out.report("unsupported", "cmd", "options", "message", "option "+key+" is not supported by the reference client: "+why)
}

// millis reads a positive number of milliseconds.
func millis(v any) (time.Duration, bool) {
	f, ok := v.(float64)
	if !ok || f < 0 || f > float64(1<<53) {
		return 0, false
	}
	return time.Duration(f * float64(time.Millisecond)), true
}

// queryValues turns the query option into url.Values: strings as they are,
// other values in their JSON form.
func queryValues(v any) (url.Values, bool) {
	obj, ok := v.(socketio.Object)
	if !ok {
		return nil, false
	}
	q := url.Values{}
	for _, m := range obj {
		if s, ok := m.Value.(string); ok {
			q.Set(m.Key, s)
			continue
		}
		b, err := socketio.AppendJSON(nil, m.Value)
		if err != nil {
			return nil, false
		}
		q.Set(m.Key, string(b))
	}
	return q, true
}

// netTracker dials the client's TCP connections and cuts them all at once
// at the end of the run, as the death of a process would.
type netTracker struct {
	mu      sync.Mutex
	aborted bool
	conns   map[*trackedConn]struct{}
	dialer  net.Dialer
	tr      *http.Transport
}

var errAborted = errors.New("testee: run over, no new connections")

func (t *netTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	t.mu.Lock()
	if t.aborted {
		t.mu.Unlock()
		return nil, errAborted
	}
	t.mu.Unlock()
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted {
		_ = c.Close()
		return nil, errAborted
	}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// httpClient returns the HTTP client of the run (one transport, dialing
// through the tracker); eioclient's WebSocket dialer uses its DialContext.
func (t *netTracker) httpClient(timeout time.Duration) *http.Client {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tr == nil {
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		t.dialer.Timeout = timeout
		t.tr = &http.Transport{DialContext: t.dial, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	}
	return &http.Client{Transport: t.tr}
}

// closeIdle closes the transport's idle keep-alive connections.
func (t *netTracker) closeIdle() {
	t.mu.Lock()
	tr := t.tr
	t.mu.Unlock()
	if tr != nil {
		tr.CloseIdleConnections()
	}
}

func (t *netTracker) abort() {
	t.mu.Lock()
	t.aborted = true
	conns := t.conns
	t.conns = map[*trackedConn]struct{}{}
	tr := t.tr
	t.mu.Unlock()
	for c := range conns {
		_ = c.Conn.Close()
	}
	if tr != nil {
		tr.CloseIdleConnections()
	}
}

type trackedConn struct {
	net.Conn
	t *netTracker
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}
