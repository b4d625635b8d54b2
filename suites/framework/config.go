package framework

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultPath is the Engine.IO path prefix used when neither --path nor the
// URL names one (EIO-URL-01).
const DefaultPath = "/engine.io/"

// Config is the run configuration of the server suites: parsed from flags
// once, validated once, and passed explicitly to every helper.
type Config struct {
	// URL is the target's base URL, e.g. http://127.0.0.1:3000. Required
	// for a real run; a dry run does not need it.
	URL string
	// Path is the Engine.IO path prefix. Empty means the URL's own path, or
	// DefaultPath when the URL has none.
	Path string
	// EIO is the Engine.IO revision under test, 4 (default) or 3.
	EIO int
	// TimeScale multiplies every budget and grace; default 1.
	TimeScale float64
	// Strict makes SHOULD and NODE failures gate the run.
	Strict bool
	// Seed is the root seed of every random choice; 0 means "pick one from
	// the clock" (Normalize does it and the reports print it).
	Seed int64

	// Target is the preflight's finding. Nil until Preflight ran; specs
	// that need protocol parameters read them from here.
	Target *Target
}

// Environment fallbacks for the flags, for CI: a flag given on the command
// line wins.
const (
	EnvURL       = "SIOSPEC_URL"
	EnvTimeScale = "SIOSPEC_TIME_SCALE"
)

// RegisterFlags binds the suite flags (--url, --path, --eio, --time-scale,
// --strict, --seed) to c on fs. Unset fields take their defaults from
// SIOSPEC_URL and SIOSPEC_TIME_SCALE when those are set.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	if c.URL == "" {
		c.URL = os.Getenv(EnvURL)
	}
	if v, err := strconv.ParseFloat(os.Getenv(EnvTimeScale), 64); c.TimeScale == 0 && err == nil {
		c.TimeScale = v
	}
	fs.StringVar(&c.URL, "url", c.URL, "base URL of the server under test, e.g. http://127.0.0.1:3000 (env "+EnvURL+")")
	fs.StringVar(&c.Path, "path", c.Path, "Engine.IO path prefix (default: the URL's path, or "+DefaultPath+")")
	fs.IntVar(&c.EIO, "eio", c.EIO, "Engine.IO revision under test: 4 or 3 (default 4)")
	fs.Float64Var(&c.TimeScale, "time-scale", c.TimeScale, "multiply every timing budget and grace by this factor (default 1; env "+EnvTimeScale+")")
	fs.BoolVar(&c.Strict, "strict", c.Strict, "SHOULD and NODE failures fail the run")
	fs.Int64Var(&c.Seed, "seed", c.Seed, "root seed for random choices (default: from the clock)")
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
}

// ErrUsage marks configuration errors (exit code 4 in the CLI).
var ErrUsage = errors.New("usage")

// Validate checks the configuration. needURL is false for dry runs.
func (c *Config) Validate(needURL bool) error {
	var errs []error
	if c.EIO != 0 && c.EIO != 3 && c.EIO != 4 {
		errs = append(errs, fmt.Errorf("--eio must be 4 or 3, got %d", c.EIO))
	}
	if c.TimeScale < 0 || (c.TimeScale != 0 && c.TimeScale < 0.1) || c.TimeScale > 100 {
		errs = append(errs, fmt.Errorf("--time-scale must be within 0.1..100, got %g", c.TimeScale))
	}
	if c.URL == "" {
		if needURL {
			errs = append(errs, errors.New("--url is required"))
		}
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--url must be an absolute http(s) URL like http://127.0.0.1:3000, got %q", c.URL))
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("--path must start with /, got %q", c.Path))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrUsage, errors.Join(errs...))
	}
	return nil
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
