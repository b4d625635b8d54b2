package socketio_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
)

// The broken servers are the Go reference fixture behind a middleware that
// breaks one rule, on HTTP long-polling only (WebSocket traffic passes
// untouched). TestBrokenServers runs the specs of the rule's area against
// each of them and checks that exactly the specs of the broken rule fail,
// which shows that those specs can fail.

// stripSID breaks SIO-CONN-02 / SIO-CONN-03: every CONNECT reply in a
// polling response loses its payload's sid (40{"sid":"x"} → 40{}).
func stripSID(next http.Handler) http.Handler {
	re := regexp.MustCompile(`(^|\x1e)40(/[^,\x1e]*,)?\{"sid":"[^"]*"\}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Query().Get("transport") != "polling" {
			next.ServeHTTP(w, r)
			return
		}
		bw := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(bw, r)
		body := re.ReplaceAll(bw.body.Bytes(), []byte("${1}40${2}{}"))
		for k, v := range bw.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(bw.status)
		_, _ = w.Write(body)
	})
}

// dropBadPayloads breaks SIO-EVT-02 and its kin (a payload of the wrong
// shape closes the session): POSTed messages whose Socket.IO payload has the
// wrong shape for their type are dropped before the server sees them, so
// the server never closes for them.
func dropBadPayloads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Query().Get("transport") != "polling" || r.URL.Query().Get("EIO") != "4" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		pkts, err := engineio.DecodePayload(engineio.V4, false, body)
		if err == nil {
			kept := pkts[:0]
			for _, p := range pkts {
				if p.Type == engineio.Message && !p.Binary {
					if _, derr := sio.Decode(p.Data); errors.Is(derr, sio.ErrPayload) {
						continue
					}
				}
				kept = append(kept, p)
			}
			if len(kept) == 0 {
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("ok"))
				return
			}
			if b, eerr := (engineio.Encoder{AllowIllegal: true}).AppendPayload(nil, kept); eerr == nil {
				body = b
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		next.ServeHTTP(w, r)
	})
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }

// TestBrokenServers runs this test binary again against each broken server
// (a child process, since Ginkgo runs one suite per process) and checks the
// set of failed requirement IDs.
func TestBrokenServers(t *testing.T) {
	if *fixtureFlag != "" || testCfg.URL != "" {
		t.Skip("child run")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	cases := []struct {
		fixture, filter string
		want            []string
	}{
		// Only the specs that check the CONNECT reply's sid fail.
		{"broken-nosid", "transport:polling && area:connect", []string{"SIO-CONN-02", "SIO-CONN-03"}},
		// Only the specs whose packets have a payload of the wrong shape
		// fail; the invalid-JSON, unknown-type and ack-id closes pass.
		{"broken-lenient", "transport:polling && (area:event || area:packet)", []string{"SIO-ENC-09", "SIO-EVT-02", "SIO-EVT-03", "SIO-EVT-04"}},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			vs, _, out := runChild(t, "-fixture="+c.fixture, "-ginkgo.label-filter="+c.filter+" && !extended")
			var failed []string
			passed := 0
			for _, v := range vs {
				switch {
				case v.State.Is(types.SpecStateFailureStates):
					if !slices.Contains(failed, v.ID) {
						failed = append(failed, v.ID)
					}
				case v.State == types.SpecStatePassed:
					passed++
				}
			}
			slices.Sort(failed)
			t.Logf("%s: %d passed, failed IDs %v", c.fixture, passed, failed)
			if !slices.Equal(failed, c.want) {
				t.Errorf("failed IDs %v, want exactly %v; child output:\n%s", failed, c.want, tail(out, 4000))
			}
			if passed == 0 {
				t.Errorf("no spec passed: the filter selected nothing useful")
			}
		})
	}
}

// verdict is one spec's outcome in a child run.
type verdict struct {
	ID, Text, Failure string
	Labels            []string
	State             types.SpecState
	Skip              string
}

// runChild runs this test binary's TestSocketIO in a child process with
// args (Ginkgo runs one suite per process) and returns every It's verdict
// from the JSON report, the wall time and the combined output.
func runChild(t *testing.T, args ...string) ([]verdict, time.Duration, []byte) {
	t.Helper()
	rep := filepath.Join(t.TempDir(), "report.json")
	all := append([]string{"-test.run=^TestSocketIO$", "-ginkgo.json-report=" + rep}, args...)
	start := time.Now()
	out, err := exec.CommandContext(t.Context(), os.Args[0], all...).CombinedOutput()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run child: %v", err)
	}
	if bytes.Contains(out, []byte("found unexpected goroutines")) {
		t.Errorf("the child run leaked goroutines:\n%s", tail(out, 4000))
	}
	raw, err := os.ReadFile(rep)
	if err != nil {
		t.Fatalf("no report (%v); child output:\n%s", err, tail(out, 4000))
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		t.Fatal(err)
	}
	var vs []verdict
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt {
				continue
			}
			v := verdict{ID: reqOf(s.Labels()), Text: s.FullText(), Labels: s.Labels(), State: s.State}
			if s.State.Is(types.SpecStateFailureStates) {
				v.Failure = s.Failure.Message
			}
			if s.State == types.SpecStateSkipped {
				v.Skip = s.Failure.Message
			}
			vs = append(vs, v)
		}
	}
	return vs, wall, out
}

func reqOf(labels []string) string {
	for _, l := range labels {
		if id, ok := strings.CutPrefix(l, "req:"); ok {
			return id
		}
	}
	return "?"
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
