package process

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeFixture returns the path of a Node fixture, skipping the test when
// node or the fixtures' node_modules are missing.
func nodeFixture(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not in PATH")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "testees", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io")); err != nil {
		t.Skip("testees/node/node_modules not installed (npm ci in testees/node)")
	}
	return filepath.Join(dir, "fixtures", name)
}

// handshake does an Engine.IO v4 polling handshake against base and returns
// the body, which starts with the open packet "0{".
func handshake(t *testing.T, base string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(base + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), `0{"sid":"`) {
		t.Fatalf("handshake: %d %q", resp.StatusCode, b)
	}
	return string(b)
}

// TestNodeFixtureLifecycle drives FX-SIO5 (testees/node/fixtures/sio5.js):
// ready on its "listening" line plus an Engine.IO handshake, restart, stop
// with SIGTERM (the fixture exits 0 on it).
func TestNodeFixtureLifecycle(t *testing.T) {
	fixture := nodeFixture(t, "sio5.js")
	ready := ReadyCheck{StdoutLine: listening, HTTP: "/socket.io/?EIO=4&transport=polling"}

	t.Run("port 0", func(t *testing.T) {
		p := newProc(t, Spec{Path: "node", Args: []string{fixture, "--port", "0"}}, &Options{Ready: ready})
		start(t, p)
		if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") {
			t.Fatalf("URL %q", p.URL())
		}
		handshake(t, p.URL())
		if err := p.Restart(ctxT(t, 30*time.Second), 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		// --port 0 binds a new port; the URL is captured again.
		handshake(t, p.URL())
		if err := p.Stop(ctxT(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if st, _ := p.ExitStatus(); st.Code != 0 || st.Run != 2 {
			t.Fatalf("status %v run %d", st, st.Run)
		}
	})

	t.Run("fixed port", func(t *testing.T) {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		p := newProc(t, Spec{Path: "node", Args: []string{fixture, "--port", fmt.Sprint(port)}}, &Options{Ready: ready})
		start(t, p)
		u := p.URL()
		handshake(t, u)
		if err := p.Inject(ctxT(t, 30*time.Second), Crash{Restart: true, Downtime: 100 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if p.URL() != u {
			t.Fatalf("URL after restart %q, want %q", p.URL(), u)
		}
		handshake(t, u)
	})
}
