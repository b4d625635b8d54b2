package testee

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"
)

// Defaults for the zero values of [Options].
const (
	DefaultOutputLimit = 64 << 10
	DefaultReportLimit = 4 << 20
	DefaultGrace       = time.Second
	DefaultTransports  = "polling,websocket"
	// MaxLine is the longest stdout line read whole; the rest of a longer
	// line is dropped (and the line is never a report).
	MaxLine = 1 << 20
)

// Options describe one run of a testee. Nil means defaults where stated.
type Options struct {
	Command    string         // run with sh -c, in its own process group
	Dir        string         // working directory; "" the current one
	URL        string         // SIOSPEC_URL
	Suite      string         // SIOSPEC_SUITE: eio4, eio3, sio5, sio4
	Case       string         // SIOSPEC_CASE
	Transports string         // SIOSPEC_TRANSPORTS; "" means "polling,websocket"
	Options    map[string]any // SIOSPEC_OPTIONS; nil means {}
	Seed       int64          // SIOSPEC_SEED
	Env        []string       // extra environment (KEY=VALUE)
	// OutputLimit caps the bytes kept of stdout and of stderr each
	// (default 64 KiB); the rest is counted and dropped, never buffered.
	// Three quarters of the limit keep the head of the stream and one
	// quarter its tail, so that a crash at the end of a long output shows.
	OutputLimit int
	// ReportLimit caps the bytes of report lines kept as [Report]s
	// (default 4 MiB); later reports are counted and dropped.
	ReportLimit int
	// Grace is how long Stop waits after closing stdin before SIGTERM, and
	// after SIGTERM before SIGKILL (default 1 s). It also bounds how long
	// the output is drained after the process exited when something
	// outside its process group still holds the pipes.
	Grace  time.Duration
	Logger *slog.Logger
}

// resolved returns a copy of o with the defaults filled in.
func (o *Options) resolved() Options {
	r := *o
	if r.Transports == "" {
		r.Transports = DefaultTransports
	}
	if r.OutputLimit <= 0 {
		r.OutputLimit = DefaultOutputLimit
	}
	if r.ReportLimit <= 0 {
		r.ReportLimit = DefaultReportLimit
	}
	if r.Grace <= 0 {
		r.Grace = DefaultGrace
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// environ returns the process environment: ours, the SIOSPEC_* variables
// of the contract, then Options.Env (later entries win).
func (o *Options) environ() ([]string, error) {
	opts := []byte("{}")
	if o.Options != nil {
		b, err := json.Marshal(o.Options)
		if err != nil {
			return nil, fmt.Errorf("testee: encoding SIOSPEC_OPTIONS: %w", err)
		}
		opts = b
	}
	env := os.Environ()
	env = append(env,
		"SIOSPEC_URL="+o.URL,
		"SIOSPEC_SUITE="+o.Suite,
		"SIOSPEC_CASE="+o.Case,
		"SIOSPEC_TRANSPORTS="+o.Transports,
		"SIOSPEC_OPTIONS="+string(opts),
		"SIOSPEC_SEED="+strconv.FormatInt(o.Seed, 10),
	)
	return append(env, o.Env...), nil
}
