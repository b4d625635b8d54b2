package interop

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schema is the value of Matrix.Schema this package writes and reads.
const Schema = "siospec.matrix/v1"

// ProfileNone is the profile name of a direct cell (no fault; the proxy
// still taps the wire).
const ProfileNone = "none"

// Outcomes of a cell.
const (
	Pass         = "pass"
	Fail         = "fail"
	Unsupported  = "unsupported"
	HarnessError = "harness-error"
)

// Sides a failure is charged to.
const (
	SideClient = "client"
	SideServer = "server"
	SidePair   = "pair" // the evidence cannot tell which side
)

// ErrMatrix is wrapped by errors about matrix.json files and their merging.
var ErrMatrix = errors.New("interop: bad matrix")

// Matrix is the content of matrix.json.
type Matrix struct {
	Schema  string    `json:"schema"`
	Harness string    `json:"harness"`
	Seed    int64     `json:"seed"`
	Created time.Time `json:"created"`
	// Command is the command line that produced the file.
	Command string `json:"command,omitempty"`
	// Shards lists the shards this matrix holds ("1/1" for a whole run).
	Shards []string `json:"shards"`
	// Profiles are the profiles of the run, in grid order.
	Profiles []string `json:"profiles"`
	// Impls are the implementations, in grid order.
	Impls []ImplInfo `json:"impls"`
	// Cells are every cell of the run (of this shard), sorted by key.
	Cells []Cell `json:"cells"`
}

// ImplInfo describes an implementation in matrix.json.
type ImplInfo struct {
	Name      string   `json:"name"`
	Library   string   `json:"library,omitempty"`
	Version   string   `json:"version,omitempty"`
	Server    []string `json:"server_protocols,omitempty"`
	Client    []string `json:"client_protocols,omitempty"`
	Notes     string   `json:"notes,omitempty"`
	ServerCmd string   `json:"server_cmd,omitempty"`
	ClientCmd string   `json:"client_exec,omitempty"`
}

// Cell is one client × server × profile result.
type Cell struct {
	Client  string `json:"client"`
	Server  string `json:"server"`
	Profile string `json:"profile"`
	// Protocol is the revision the pair speaks ("" when unsupported).
	Protocol string `json:"protocol,omitempty"`
	// Outcome is pass, fail, unsupported or harness-error.
	Outcome string `json:"outcome"`
	// Reason explains unsupported and harness-error outcomes.
	Reason   string    `json:"reason,omitempty"`
	Failures []Failure `json:"failures,omitempty"`
	// Seed is the cell's own seed, derived from the run's.
	Seed       int64    `json:"seed"`
	DurationMS int64    `json:"duration_ms"`
	Delivery   *Counts  `json:"delivery,omitempty"`
	Transcript []string `json:"transcript,omitempty"`
	Decisions  []string `json:"decisions,omitempty"`
	// Testee holds the client testee's report lines and stderr (truncated).
	TesteeOut string `json:"testee_stdout,omitempty"`
	TesteeErr string `json:"testee_stderr,omitempty"`
	ServerOut string `json:"server_output,omitempty"`

	// Visibility is how much of the traffic the tap decoded, per session.
	Visibility *Visibility `json:"visibility,omitempty"`
}

// Failure is one broken requirement in a cell.
type Failure struct {
	ID     string `json:"id"`
	Side   string `json:"side"`
	Detail string `json:"detail"`
}

// Counts summarises the workload's delivery.
type Counts struct {
	UpSent     int `json:"up_sent"`
	UpTallied  int `json:"up_tallied"`
	UpAcks     int `json:"up_acks"`
	UpAcked    int `json:"up_acked"`
	DownSent   int `json:"down_sent"`
	DownRecved int `json:"down_received"`
}

// Key is the cell's identity "CLIENT/SERVER/PROFILE" (--cell).
func (c Cell) Key() string { return c.Client + "/" + c.Server + "/" + c.Profile }

// IDs returns the distinct requirement IDs of the failures, sorted.
func (c Cell) IDs() []string {
	var ids []string
	for _, f := range c.Failures {
		if !slices.Contains(ids, f.ID) {
			ids = append(ids, f.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// Sides returns the distinct sides of the failures, sorted.
func (c Cell) Sides() []string {
	var s []string
	for _, f := range c.Failures {
		if !slices.Contains(s, f.Side) {
			s = append(s, f.Side)
		}
	}
	slices.Sort(s)
	return s
}

// Short is the cell's one-word-plus text for grids: "pass", "fail: client
// EIO-HB-02", "unsupported".
func (c Cell) Short() string {
	if c.Outcome != Fail {
		return c.Outcome
	}
	return "fail: " + strings.Join(c.Sides(), "+") + " " + strings.Join(c.IDs(), " ")
}

func compareCells(a, b Cell) int {
	return cmp.Or(cmp.Compare(a.Client, b.Client), cmp.Compare(a.Server, b.Server), cmp.Compare(a.Profile, b.Profile))
}

// ParseCellKey splits "CLIENT/SERVER/PROFILE"; PROFILE defaults to none.
func ParseCellKey(s string) (client, server, profile string, err error) {
	f := strings.Split(s, "/")
	switch len(f) {
	case 2:
		f = append(f, ProfileNone)
	case 3:
	default:
		return "", "", "", fmt.Errorf("cell %q: want CLIENT/SERVER/PROFILE", s)
	}
	for _, x := range f {
		if x == "" {
			return "", "", "", fmt.Errorf("cell %q: empty part", s)
		}
	}
	return f[0], f[1], f[2], nil
}

// Shard is one of N deterministic, balanced parts of a plan: K in 1..N.
type Shard struct{ K, N int }

// String renders "K/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// ParseShard reads "K/N" with 1 <= K <= N.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("shard %q: want K/N with 1 <= K <= N", s)
	}
	return Shard{K: k, N: n}, nil
}

// Load reads a matrix.json file and checks its schema.
func Load(path string) (*Matrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMatrix, err)
	}
	var m Matrix
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMatrix, path, err)
	}
	if m.Schema != Schema {
		return nil, fmt.Errorf("%w: %s: schema %q, this siospec reads %q", ErrMatrix, path, m.Schema, Schema)
	}
	return &m, nil
}

// Merge joins the matrices of the shards of one run into one: same schema,
// seed, profiles and implementations, no cell twice.
func Merge(ms ...*Matrix) (*Matrix, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("%w: nothing to merge", ErrMatrix)
	}
	out := *ms[0]
	out.Cells = nil
	out.Shards = nil
	seen := map[string]bool{}
	for i, m := range ms {
		if m.Seed != out.Seed {
			return nil, fmt.Errorf("%w: matrix %d has seed %d, the first %d: shards of different runs", ErrMatrix, i+1, m.Seed, out.Seed)
		}
		if !slices.Equal(m.Profiles, out.Profiles) {
			return nil, fmt.Errorf("%w: matrix %d has profiles %v, the first %v", ErrMatrix, i+1, m.Profiles, out.Profiles)
		}
		if !slices.EqualFunc(m.Impls, out.Impls, func(a, b ImplInfo) bool { return a.Name == b.Name }) {
			return nil, fmt.Errorf("%w: matrix %d lists other implementations than the first", ErrMatrix, i+1)
		}
		for _, c := range m.Cells {
			if seen[c.Key()] {
				return nil, fmt.Errorf("%w: cell %s is in two shards", ErrMatrix, c.Key())
			}
			seen[c.Key()] = true
			out.Cells = append(out.Cells, c)
		}
		out.Shards = append(out.Shards, m.Shards...)
		if m.Created.After(out.Created) {
			out.Created = m.Created
		}
	}
	slices.SortFunc(out.Cells, compareCells)
	slices.Sort(out.Shards)
	out.Shards = slices.Compact(out.Shards)
	return &out, nil
}

// Cell returns the cell with the given key.
func (m *Matrix) Cell(key string) (Cell, bool) {
	for _, c := range m.Cells {
		if c.Key() == key {
			return c, true
		}
	}
	return Cell{}, false
}

// Totals counts the cells per outcome.
func (m *Matrix) Totals() map[string]int {
	t := map[string]int{}
	for _, c := range m.Cells {
		t[c.Outcome]++
	}
	return t
}

// Failed reports whether any cell failed or had a harness error.
func (m *Matrix) Failed() bool {
	for _, c := range m.Cells {
		if c.Outcome == Fail || c.Outcome == HarnessError {
			return true
		}
	}
	return false
}
