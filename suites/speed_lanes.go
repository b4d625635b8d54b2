package suites

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
)

// Lanes: the specs of one run shared among child processes.
//
// Every child (a lane) builds the same spec tree with the same seed and
// filter, so every lane meets the same specs in the same order. Before a
// spec runs, its lane claims it from the parent (a claim server on the
// loopback interface): the first lane to claim a spec runs it, every other
// lane skips it with laneSkip, and the parent drops those skips when it
// merges the lanes' reports. Work is thus handed out as in Ginkgo's own
// parallel mode: a lane that finishes a long spec simply claims less.
//
// Specs labelled "serial" (whose timing would suffer if several of them
// ran at once against one server: the size-limit specs, which push
// megabytes through a target whose heartbeat is a few hundred
// milliseconds) run in lane 0 only, one after another, while the other
// lanes go on with the rest.

// laneSkip is the message of a spec skipped because another lane runs it.
const laneSkip = "siospec: runs in another lane"

// serialLabel marks specs that run in one lane, one after another.
const serialLabel = "serial"

// laneServer hands out the specs of a run to its lanes and collects their
// progress.
type laneServer struct {
	lanes int
	srv   *http.Server
	ln    net.Listener
	url   string

	mu      sync.Mutex
	claims  map[int]laneClaim // by ordinal
	total   int
	done    int
	failed  int
	finish  map[int]bool // ordinals whose spec finished
	onEvent func(laneEvent)
}

type laneClaim struct {
	lane int
	text string
}

// laneEvent is a progress update: total specs, finished and failed so
// far, and the text of the spec that just failed (if one did).
type laneEvent struct {
	Total, Done, Failed int
	FailedText          string
}

// startLaneServer listens on a loopback port for lanes lanes; onEvent (may
// be nil) is called, serialised, on every progress update.
func startLaneServer(lanes int, onEvent func(laneEvent)) (*laneServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &laneServer{lanes: lanes, ln: ln, url: "http://" + ln.Addr().String(),
		claims: map[int]laneClaim{}, finish: map[int]bool{}, onEvent: onEvent}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /claim", s.handleClaim)
	mux.HandleFunc("POST /total", s.handleTotal)
	mux.HandleFunc("POST /done", s.handleDone)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server and waits for its handlers.
func (s *laneServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

func formInt(r *http.Request, k string) (int, error) {
	return strconv.Atoi(r.PostFormValue(k))
}

func (s *laneServer) handleClaim(w http.ResponseWriter, r *http.Request) {
	lane, err1 := formInt(r, "lane")
	n, err2 := formInt(r, "n")
	if err := errors.Join(err1, err2); err != nil || lane < 0 || lane >= s.lanes {
		http.Error(w, "bad claim", http.StatusBadRequest)
		return
	}
	text, serial := r.PostFormValue("text"), r.PostFormValue("serial") == "1"
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.claims[n]; ok {
		if c.text != text {
			http.Error(w, fmt.Sprintf("spec %d is %q in lane %d and %q in lane %d: the lanes' trees differ", n, c.text, c.lane, text, lane), http.StatusConflict)
			return
		}
		_, _ = io.WriteString(w, "skip")
		return
	}
	if serial && lane != 0 {
		_, _ = io.WriteString(w, "skip")
		return
	}
	s.claims[n] = laneClaim{lane: lane, text: text}
	_, _ = io.WriteString(w, "run")
}

func (s *laneServer) handleTotal(w http.ResponseWriter, r *http.Request) {
	n, err := formInt(r, "n")
	if err != nil {
		http.Error(w, "bad total", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total == 0 {
		s.total = n
		s.emit("")
	}
}

func (s *laneServer) handleDone(w http.ResponseWriter, r *http.Request) {
	n, err := formInt(r, "n")
	if err != nil {
		http.Error(w, "bad done", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finish[n] {
		return
	}
	s.finish[n] = true
	s.done++
	failed := ""
	if r.PostFormValue("failed") == "1" {
		s.failed++
		failed = r.PostFormValue("text")
	}
	s.emit(failed)
}

func (s *laneServer) emit(failed string) {
	if s.onEvent != nil {
		s.onEvent(laneEvent{Total: s.total, Done: s.done, Failed: s.failed, FailedText: failed})
	}
}

// check reports a spec that was claimed but never finished (its lane
// ended in the middle of it).
func (s *laneServer) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []int
	for n := range s.claims {
		if !s.finish[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	c := s.claims[missing[0]]
	return fmt.Errorf("%d claimed specs never finished, the first %q in lane %d", len(missing), c.text, c.lane)
}

// laneClient is a lane's side: it claims specs and reports progress.
type laneClient struct {
	url  string
	lane int
	hc   *http.Client
}

func (c *laneClient) post(ctx context.Context, path string, v url.Values) (string, error) {
	v.Set("lane", strconv.Itoa(c.lane))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+path, strings.NewReader(v.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// install adds the lane's nodes to the top of the Ginkgo tree: the total
// before the suite, a claim before every spec (a spec another lane runs is
// skipped with laneSkip) and a progress report after every spec it ran.
// timeout bounds a claim.
func (c *laneClient) install(timeout time.Duration) {
	var n, cur int
	ReportBeforeSuite(func(r Report) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.post(ctx, "/total", url.Values{"n": {strconv.Itoa(r.PreRunStats.SpecsThatWillRun)}})
	})
	BeforeEach(func() {
		n++
		cur = 0
		r := CurrentSpecReport()
		serial := "0"
		if slices.Contains(r.Labels(), serialLabel) {
			serial = "1"
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ans, err := c.post(ctx, "/claim", url.Values{"n": {strconv.Itoa(n)}, "text": {r.FullText()}, "serial": {serial}})
		if err != nil {
			AbortSuite("siospec lane: claim spec: " + err.Error())
		}
		if ans != "run" {
			Skip(laneSkip)
		}
		cur = n
	})
	ReportAfterEach(func(r SpecReport) {
		if cur == 0 {
			return
		}
		v := url.Values{"n": {strconv.Itoa(cur)}}
		if r.State.Is(types.SpecStateFailureStates) {
			v.Set("failed", "1")
			v.Set("text", r.FullText())
		}
		cur = 0
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.post(ctx, "/done", v)
	})
}

// mergeLanes joins the reports of the lanes of one run into one: each
// spec from the lane that ran it (the lanes' reports list the same specs
// in the same order), the earliest start, the latest end, success only if
// every lane succeeded.
func mergeLanes(rs []types.Report) (types.Report, error) {
	out := rs[0]
	out.SpecReports = make(types.SpecReports, 0, len(rs[0].SpecReports))
	for _, r := range rs[1:] {
		if len(r.SpecReports) != len(rs[0].SpecReports) {
			return out, fmt.Errorf("lane reports list %d and %d specs", len(rs[0].SpecReports), len(r.SpecReports))
		}
	}
	for i, s := range rs[0].SpecReports {
		pick := s
		for _, r := range rs {
			o := r.SpecReports[i]
			if o.FullText() != s.FullText() || o.LeafNodeType != s.LeafNodeType {
				return out, fmt.Errorf("lane reports differ at spec %d: %q and %q", i, s.FullText(), o.FullText())
			}
			if !isLaneSkip(o) && (isLaneSkip(pick) || o.RunTime > pick.RunTime) {
				pick = o
			}
		}
		if isLaneSkip(pick) {
			return out, fmt.Errorf("no lane ran %q", s.FullText())
		}
		out.SpecReports = append(out.SpecReports, pick)
	}
	for _, r := range rs[1:] {
		out.SuiteSucceeded = out.SuiteSucceeded && r.SuiteSucceeded
		for _, why := range r.SpecialSuiteFailureReasons {
			if !slices.Contains(out.SpecialSuiteFailureReasons, why) {
				out.SpecialSuiteFailureReasons = append(out.SpecialSuiteFailureReasons, why)
			}
		}
		if r.StartTime.Before(out.StartTime) {
			out.StartTime = r.StartTime
		}
		if r.EndTime.After(out.EndTime) {
			out.EndTime = r.EndTime
		}
	}
	out.RunTime = out.EndTime.Sub(out.StartTime)
	return out, nil
}

func isLaneSkip(s types.SpecReport) bool {
	return s.State == types.SpecStateSkipped && s.Failure.Message == laneSkip
}
