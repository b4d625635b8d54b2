package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// leftBehind returns the pids of processes whose command line contains
// marker (Linux /proc).
func leftBehind(marker string) []string {
	var out []string
	ds, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, d := range ds {
		b, err := os.ReadFile(d)
		if err == nil && bytes.Contains(b, []byte(marker)) {
			out = append(out, strings.Split(d, "/")[2])
		}
	}
	return out
}

// TestServerCmdBad: a --server-cmd that exits at once, never becomes
// ready, or never becomes ready and ignores SIGTERM ends the run at once
// with exit code 3 and a message saying why, and leaves no process behind.
func TestServerCmdBad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, cmd string
		extra     []string
		want      string
		within    time.Duration
	}{
		{"exits at once", "echo starting; echo oops >&2; exit 3 # %s {port}", nil, "exited before it was ready (exit status 3)", 5 * time.Second},
		{"never ready", "sleep 30.%s # {port}", []string{"--server-ready", "^listening", "--server-ready-timeout", "1s"}, "was not ready within 1s (waiting for: stdout line)", 8 * time.Second},
		{"ignores SIGTERM", "trap '' TERM; sleep 30.%s # {port}", []string{"--server-ready-timeout", "1s"}, "was not ready within 1s (waiting for: tcp)", 12 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			marker := fmt.Sprintf("%d%d", os.Getpid(), time.Now().UnixNano()%1e6)
			cmd := strings.Replace(tc.cmd, "%s", marker, 1)
			args := append([]string{"server", "--suite", "net", "--server-cmd", cmd}, tc.extra...)
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run(t.Context(), args, &stdout, &stderr)
			if d := time.Since(start); d > tc.within {
				t.Errorf("took %v, want under %v", d, tc.within)
			}
			if code != exitPreflight {
				t.Errorf("exit code %d, want %d\n%s", code, exitPreflight, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr.String())
			}
			if tc.name == "exits at once" && !strings.Contains(stderr.String(), "stderr: oops") {
				t.Errorf("stderr lacks the command's last output:\n%s", stderr.String())
			}
			// Killed processes may take a moment to leave the process table.
			deadline := time.Now().Add(3 * time.Second)
			for len(leftBehind(marker)) > 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if pids := leftBehind(marker); len(pids) > 0 {
				t.Errorf("processes left behind: %v", pids)
			}
		})
	}
}

// TestServerCmdUsage: the net flags' misuse exits 4.
func TestServerCmdUsage(t *testing.T) {
	for _, args := range [][]string{
		{"server", "--suite", "net", "--server-cmd", "node x.js"},                        // no {port}
		{"server", "--suite", "net", "--server-ready", "^x"},                             // --server-ready without --server-cmd
		{"server", "--suite", "net", "--server-cmd", "x {port}", "--server-ready", "(("}, // bad regexp
		{"server", "--suite", "sio5", "--url", "http://127.0.0.1:1", "--trials", "2"},    // net flags without the net suite
		{"server", "--suite", "net", "--server-cmd", "x {port}", "--trials", "-1"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit code %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
	}
}

// TestServerNetReference: `siospec server --suite net` without a URL tests
// the built-in reference (here two quick specs), exits 0 and writes the
// siospec.net measures into report.json.
func TestServerNetReference(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"server", "--suite", "net", "--label-filter", "req: containsAny {NET-FW-01, NET-STRIP-02}", "--report-dir", dir, "--procs", "1"}
	if code := run(t.Context(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Specs []struct {
			ID      string `json:"id"`
			Outcome string `json:"outcome"`
			Net     *struct {
				Profile string          `json:"profile"`
				Summary string          `json:"summary"`
				Measure json.RawMessage `json:"measures"`
			} `json:"net"`
		} `json:"specs"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range rep.Specs {
		if s.Outcome != "pass" {
			continue
		}
		if s.Net == nil || s.Net.Profile == "" || !strings.Contains(s.Net.Summary, "delivered") || len(s.Net.Measure) == 0 {
			t.Errorf("%s: net entry %+v", s.ID, s.Net)
		}
		got[s.ID] = true
	}
	if !got["NET-FW-01"] || !got["NET-STRIP-02"] {
		t.Errorf("passing specs %v, want NET-FW-01 and NET-STRIP-02\n%s", got, stdout.String())
	}
}
