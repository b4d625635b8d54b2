package framework

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Default path prefixes (EIO-URL-01): the Engine.IO suites' and the
// Socket.IO suites'. --path, or a path in the target URL, overrides them.
const (
	DefaultPath    = "/engine.io/"
	DefaultSIOPath = "/socket.io/"
)

// DefaultConnectTimeout is FX-SIO5's connectTimeout (SIO-CONN-08), the
// default of --connect-timeout.
const DefaultConnectTimeout = 1000 * time.Millisecond

// AllSuites lists the four protocol suites in run order: what "all" and
// the default selection mean. The net suite (NET) is deliberately not in
// it: it is slow (real faults, real timeouts) and runs only when named
// (--suite net, or --suite sio5,net); see SelectableSuites.
var AllSuites = []Proto{EIO4, EIO3, SIO5, SIO4}

// SelectableSuites lists every suite --suite accepts, in run order:
// AllSuites, then NET.
var SelectableSuites = []Proto{EIO4, EIO3, SIO5, SIO4, NET}

// Config is the run configuration of the server suites: parsed from flags
// once, validated once, and passed explicitly to every helper.
//
// A run may test several suites (EIO4, EIO3, SIO5, SIO4), each against its
// own target: For derives the configuration of one suite, and Targets holds
// those per-suite configurations once the runner resolved them.
type Config struct {
	// URL is the base URL of every suite's target, e.g.
	// http://127.0.0.1:3000. EIOURL and SIOURL override it for the
	// Engine.IO suites (eio4, eio3) and the Socket.IO suites (sio5, sio4),
	// so that separate servers run in one command.
	URL, EIOURL, SIOURL string
	// Path is the path prefix of every suite. Empty means the target URL's
	// own path, or DefaultPath (Engine.IO suites) / DefaultSIOPath
	// (Socket.IO suites) when the URL has none.
	Path string
	// Suites are the suites to run. Empty means DefaultSuites.
	Suites []Proto
	// EIO is the Engine.IO revision the raw client speaks, 4 (default) or
	// 3. For sets it from the suite (3 for EIO3 and SIO4).
	EIO int
	// TimeScale multiplies every budget and grace; default 1.
	TimeScale float64
	// Strict makes SHOULD and NODE failures gate the run.
	Strict bool
	// Seed is the root seed of every random choice; 0 means "pick one from
	// the clock" (Normalize does it and the reports print it).
	Seed int64
	// ConnectTimeout is the Socket.IO target's connectTimeout
	// (SIO-CONN-08), which no handshake announces; default
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// Net holds the net suite's settings (net_config.go); nil means its
	// defaults.
	Net *NetConfig

	// Target is the preflight's finding for a per-suite configuration. Nil
	// until Preflight ran; specs that need protocol parameters read them
	// from here.
	Target *Target
	// Targets maps each suite of the run to its resolved configuration
	// (For plus the preflight's Target). Specs of a suite missing here use
	// this Config itself.
	Targets map[Proto]*Config
}

// Environment fallbacks for the flags, for CI: a flag given on the command
// line wins.
const (
	EnvURL       = "SIOSPEC_URL"
	EnvTimeScale = "SIOSPEC_TIME_SCALE"
)

// suiteList is the flag.Value of --suite.
type suiteList struct{ c *Config }

func (s suiteList) String() string {
	if s.c == nil {
		return ""
	}
	return FormatSuites(s.c.Suites)
}

func (s suiteList) Set(v string) error {
	ps, err := ParseSuites(v)
	if err != nil {
		return err
	}
	s.c.Suites = ps
	return nil
}

// ParseSuites parses a comma-separated suite list such as "eio4,sio5" (case
// does not matter; "all" means the four protocol suites, AllSuites, and
// "net" must be named). Duplicates collapse; the
// result is in AllSuites order.
func ParseSuites(v string) ([]Proto, error) {
	var out []Proto
	for _, f := range strings.Split(v, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		add := []Proto{Proto(f)}
		if f == "ALL" {
			add = AllSuites // the four protocol suites; net only when named
		} else if !slices.Contains(SelectableSuites, add[0]) {
			return nil, fmt.Errorf("unknown suite %q (want eio4, eio3, sio5, sio4, net or all)", strings.ToLower(f))
		}
		for _, p := range add {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty suite list")
	}
	slices.SortFunc(out, func(a, b Proto) int { return slices.Index(SelectableSuites, a) - slices.Index(SelectableSuites, b) })
	return out, nil
}

// FormatSuites renders suites as a --suite value ("eio4,sio5").
func FormatSuites(ps []Proto) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = strings.ToLower(string(p))
	}
	return strings.Join(parts, ",")
}

// RegisterFlags binds the suite flags (--url, --eio-url, --sio-url,
// --path, --suite, --time-scale, --strict, --seed, --connect-timeout) to c
// on fs. Unset fields take their defaults from SIOSPEC_URL and
// SIOSPEC_TIME_SCALE when those are set.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.URL == "" {
		c.URL = os.Getenv(EnvURL)
	}
	if v, err := strconv.ParseFloat(os.Getenv(EnvTimeScale), 64); c.TimeScale == 0 && err == nil {
		c.TimeScale = v
	}
	fs.StringVar(&c.URL, "url", c.URL, "base URL of the server under test, e.g. http://127.0.0.1:3000, for every suite (env "+EnvURL+")")
	fs.StringVar(&c.EIOURL, "eio-url", c.EIOURL, "base URL of the Engine.IO suites' target (eio4, eio3), overriding --url")
	fs.StringVar(&c.SIOURL, "sio-url", c.SIOURL, "base URL of the Socket.IO suites' target (sio5, sio4), overriding --url")
	fs.StringVar(&c.Path, "path", c.Path, "path prefix of every suite (default: the target URL's path, else "+DefaultPath+" for eio*, "+DefaultSIOPath+" for sio*)")
	fs.Var(suiteList{c}, "suite", "suites to run, comma-separated: eio4,eio3,sio5,sio4, net (the network-failure suite, only when named) or all (the four protocol suites; default: all four against the built-in reference; "+
		"with a target URL, eio4 when --url or --eio-url is given plus sio5 when --sio-url is given)")
	fs.Float64Var(&c.TimeScale, "time-scale", c.TimeScale, "multiply every timing budget and grace by this factor (default 1; env "+EnvTimeScale+")")
	fs.BoolVar(&c.Strict, "strict", c.Strict, "SHOULD and NODE failures fail the run")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "root seed for random choices (default: from the clock)")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", c.ConnectTimeout, "the Socket.IO target's connectTimeout, which no handshake announces (default 1s, FX-SIO5)")
}

// HasTarget reports whether any target URL is configured.
func (c *Config) HasTarget() bool { return c.URL != "" || c.EIOURL != "" || c.SIOURL != "" }

// DefaultSuites returns the suites a run selects when --suite is not
// given: all four when no target URL is configured (the built-in
// reference); otherwise eio4 when --url or --eio-url is given, plus sio5
// when --sio-url is given (the legacy revisions eio3 and sio4 only on
// request).
func (c *Config) DefaultSuites() []Proto {
	if !c.HasTarget() {
		return slices.Clone(AllSuites)
	}
	var out []Proto
	if c.URL != "" || c.EIOURL != "" {
		out = append(out, EIO4)
	}
	if c.SIOURL != "" {
		out = append(out, SIO5)
	}
	return out
}

// Normalize fills defaults in place.
func (c *Config) Normalize() {
	if c.EIO == 0 {
		c.EIO = 4
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano() & 0x7fffffff
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if len(c.Suites) == 0 {
		c.Suites = c.DefaultSuites()
	}
}

// ErrUsage marks configuration errors (exit code 4 in the CLI).
var ErrUsage = errors.New("usage")

// Validate checks the configuration. needURL is false for dry runs and for
// runs where the caller provides the targets (the built-in reference).
func (c *Config) Validate(needURL bool) error {
	var errs []error
	if c.EIO != 0 && c.EIO != 3 && c.EIO != 4 {
		errs = append(errs, fmt.Errorf("the client revision must be 4 or 3, got %d", c.EIO))
	}
	if c.TimeScale < 0 || (c.TimeScale != 0 && c.TimeScale < 0.1) || c.TimeScale > 100 {
		errs = append(errs, fmt.Errorf("--time-scale must be within 0.1..100, got %g", c.TimeScale))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("--connect-timeout must not be negative, got %v", c.ConnectTimeout))
	}
	for _, f := range []struct{ name, v string }{{"--url", c.URL}, {"--eio-url", c.EIOURL}, {"--sio-url", c.SIOURL}} {
		if f.v == "" {
			continue
		}
		if u, err := url.Parse(f.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s must be an absolute http(s) URL like http://127.0.0.1:3000, got %q", f.name, f.v))
		}
	}
	if needURL {
		if !c.HasTarget() {
			errs = append(errs, errors.New("--url is required"))
		} else {
			for _, p := range c.Suites {
				if c.For(p).URL == "" {
					flagName := "--eio-url"
					if p.IsSocketIO() {
						flagName = "--sio-url"
					}
					errs = append(errs, fmt.Errorf("suite %s has no target: give --url or %s", strings.ToLower(string(p)), flagName))
				}
			}
		}
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("--path must start with /, got %q", c.Path))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrUsage, errors.Join(errs...))
	}
	return nil
}

// For returns the configuration of suite p: its target URL (SIOURL or
// EIOURL when set, else URL), its path, and the client revision (3 for EIO3
// and SIO4). Target and Targets are left empty.
func (c *Config) For(p Proto) *Config {
	o := *c
	o.Suites = []Proto{p}
	o.Target, o.Targets = nil, nil
	if p.IsSocketIO() && c.SIOURL != "" {
		o.URL = c.SIOURL
	} else if !p.IsSocketIO() && c.EIOURL != "" {
		o.URL = c.EIOURL
	}
	o.EIOURL, o.SIOURL = "", ""
	o.EIO = p.EIO()
	if o.Path == "" {
		o.Path = p.DefaultPath()
		if u, err := url.Parse(o.URL); err == nil && u.Path != "" && u.Path != "/" {
			o.Path = u.Path
		}
	}
	return &o
}

// ForSpec returns the configuration the specs of suite p use: Targets[p]
// when the runner resolved it, else c itself.
func (c *Config) ForSpec(p Proto) *Config {
	if t := c.Targets[p]; t != nil {
		return t
	}
	return c
}

// Endpoint returns the Engine.IO endpoint URL (base URL plus path, no query).
func (c *Config) Endpoint() (*url.URL, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, err
	}
	p := c.Path
	if p == "" {
		p = u.Path
		if p == "" || p == "/" {
			p = DefaultPath
		}
	}
	u.Path, u.RawQuery, u.Fragment = p, "", ""
	return u, nil
}

// Version returns the Engine.IO revision as a label value.
func (c *Config) Version() Proto {
	if c.EIO == 3 {
		return EIO3
	}
	return EIO4
}

// Timing returns the budgets for this run: the target's negotiated
// heartbeat, or the official fixture's 300/200 ms when no preflight ran.
func (c *Config) Timing() Timing {
	t := Timing{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Scale: c.TimeScale}
	if t.Scale == 0 {
		t.Scale = 1
	}
	if c.Target != nil {
		t.PingInterval, t.PingTimeout = c.Target.PingInterval, c.Target.PingTimeout
	}
	return t
}

// SpecTimeout bounds one whole spec: a few heartbeats plus a fixed margin,
// scaled.
func (c *Config) SpecTimeout() time.Duration {
	t := c.Timing()
	return t.Scaled(3*(t.PingInterval+t.PingTimeout) + 5*time.Second)
}
