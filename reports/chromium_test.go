//go:build unix

package reports

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// chromium finds a headless-capable Chromium. A machine without one fails
// the test (.ci/run installs it): a proof that cannot run is not a pass.
func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the headless Chromium check in -short mode")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: install it (Debian: apt-get install -y chromium; .ci/run does) to check index.html in a real browser")
	return ""
}

// runChromium runs one headless Chromium with networking off and returns
// its standard output. The whole process group is killed if it overruns.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	return string(out)
}

var specRow = regexp.MustCompile(`<tr class="spec"[^>]*>`)

// visibleRows returns the data-outcome of each requirement row, and
// whether the row is hidden, as the browser left them.
func visibleRows(dom string) (visible, hidden []string) {
	outcome := regexp.MustCompile(`data-outcome="([^"]*)"`)
	idAttr := regexp.MustCompile(`id="r-(\d+)"`)
	for _, tag := range specRow.FindAllString(dom, -1) {
		o := outcome.FindStringSubmatch(tag)
		id := idAttr.FindStringSubmatch(tag)
		if o == nil || id == nil {
			continue
		}
		if strings.Contains(tag, " hidden") {
			hidden = append(hidden, o[1])
		} else {
			visible = append(visible, o[1])
		}
	}
	return visible, hidden
}

// TestHTMLInChromium renders index.html in headless Chromium and checks
// the DOM after the page's script ran: the requirement rows, the failure
// details with their transcripts, and the filters driven from the URL hash.
// Set SIOSPEC_SCREENSHOT=/path.png to also save a screenshot.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	gr, meta := fixtureRun()
	dir := t.TempDir()
	if err := FromGinkgo(gr, meta).WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, FileHTML)

	dom := runChromium(t, bin, "--dump-dom", page)
	if !strings.Contains(dom, `data-filters-ready="1"`) {
		t.Fatalf("the page script did not run; DOM:\n%s", dom)
	}
	visible, hidden := visibleRows(dom)
	if len(visible) != 15 || len(hidden) != 0 {
		t.Errorf("unfiltered: %d visible, %d hidden rows; want 15 and 0", len(visible), len(hidden))
	}
	for _, want := range []string{
		"15 of 15 specs",
		`<td class="id">EIO-HS-02</td>`,
		"the session was still open when the spec timed out", // observation
		"close within 200ms..700ms",                          // budget
		"GET /engine.io/?EIO=4&amp;transport=polling",        // transcript summary
		"&lt;script&gt;alert(1)&lt;/script&gt;",              // escaped transcript text
		"00000000  04 00 ff 7f",                              // raw bytes, hex
		"4 bytes (truncated)",                                // truncated flag
		"Wire transcript (4 events)",                         // EIO-HB-01 and EIO-HS-02
		"target does not declare the extended contract",      // unsupported reason
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("DOM lacks %q", want)
		}
	}
	if n := strings.Count(dom, `<article class="detail"`); n != 9 {
		t.Errorf("%d detail cards, want 9", n)
	}
	if strings.Contains(dom, "<script>alert(1)") {
		t.Error("transcript text reached the DOM unescaped")
	}

	for _, tc := range []struct {
		hash  string
		count int
		shown string
	}{
		{"#outcome=fail", 4, "4 of 15 specs"},
		{"#area=handshake&level=MUST", 2, "2 of 15 specs"},
		{"#outcome=non-strict&q=url-safe%20sid", 1, "1 of 15 specs"},
		{"#q=no-such-thing", 0, "0 of 15 specs"},
	} {
		dom := runChromium(t, bin, "--dump-dom", page+tc.hash)
		visible, hidden := visibleRows(dom)
		if len(visible) != tc.count || len(visible)+len(hidden) != 15 || !strings.Contains(dom, tc.shown) {
			t.Errorf("%s: %d visible (%v), %d hidden; want %d visible and %q", tc.hash, len(visible), visible, len(hidden), tc.count, tc.shown)
		}
		if tc.hash == "#outcome=fail" {
			if !strings.Contains(dom, `<span id="details-count">4 of 9</span>`) {
				t.Errorf("#outcome=fail: details count not updated")
			}
			for _, o := range visible {
				if o != "fail" {
					t.Errorf("#outcome=fail shows a %s row", o)
				}
			}
		}
		if tc.count == 0 && !regexp.MustCompile(`<tr id="no-rows">`).MatchString(dom) {
			t.Errorf("%s: the no-match row is not shown", tc.hash)
		}
	}

	if shot := os.Getenv("SIOSPEC_SCREENSHOT"); shot != "" {
		runChromium(t, bin, "--window-size=1280,2600", "--hide-scrollbars", "--screenshot="+shot, page)
		t.Logf("screenshot written to %s", shot)
	}
}
