package socketio_test

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/socketio"
	"go.uber.org/goleak"
)

// Flags of this test binary: the framework's (--url, --path, --eio,
// --time-scale, --strict, --seed) plus the target selection below.
var (
	testCfg     framework.Config
	fixtureFlag = flag.String("fixture", "", "start a target: node-sio5, node-sio4, node-sio5-csr, go-sio5, go-sio5-csr, go-sio4, broken-nosid, broken-lenient (instead of --url)")
	noExtFlag   = flag.Bool("no-ext", false, "start the fixture without the extended contract")
	sioFlag     = flag.Int("sio", 5, "Socket.IO revision of a --url target: 5 or 4")
)

func TestMain(m *testing.M) {
	testCfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	// Ginkgo's interrupt handler outlives RunSpecs by design.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/onsi/ginkgo/v2/internal/interrupt_handler.(*InterruptHandler).registerForInterrupts.func2"))
}

// TestSocketIO runs the Socket.IO server specs as a Ginkgo suite against
// --url (with --sio 5|4) or a fixture it starts itself:
//
//	go test ./suites/socketio -run TestSocketIO -args -fixture node-sio5
//	go test ./suites/socketio -run TestSocketIO -args -fixture node-sio4 -no-ext
//	go test ./suites/socketio -run TestSocketIO -args -url http://127.0.0.1:3000 -path /socket.io/
//
// Without --url or --fixture it skips (a dry run lists every spec).
func TestSocketIO(t *testing.T) {
	RegisterFailHandler(Fail)
	sc, rc := GinkgoConfiguration()
	cfg := testCfg
	if cfg.Path == "" {
		cfg.Path = "/socket.io/"
	}
	rev := *sioFlag
	if !sc.DryRun {
		switch {
		case *fixtureFlag != "":
			url, r, stop, err := startFixture(*fixtureFlag, *noExtFlag)
			if err != nil {
				t.Fatalf("harness-error: start fixture %s: %v", *fixtureFlag, err)
			}
			defer stop()
			cfg.URL, rev = url, r
		case cfg.URL == "":
			t.Skip("no --url or --fixture given (see TestSocketIO's doc)")
		}
		if rev == 4 {
			cfg.EIO = 3
		}
		cfg.Normalize()
		if err := cfg.Validate(true); err != nil {
			t.Fatal(err)
		}
		tgt, err := framework.Preflight(context.Background(), &cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Target = tgt
		t.Logf("preflight: %s", tgt)
		f := fmt.Sprintf("role:server && proto:SIO%d", rev)
		if strings.TrimSpace(sc.LabelFilter) != "" {
			f += " && (" + sc.LabelFilter + ")"
		}
		sc.LabelFilter = f
		sc.RandomSeed = cfg.Seed
	}
	socketio.Register(framework.NewSuite(&cfg))
	RunSpecs(t, "siospec Socket.IO server", sc, rc)
}

// startFixture starts the named target and returns its URL, its Socket.IO
// revision and a stop function.
func startFixture(name string, noExt bool) (string, int, func(), error) {
	switch name {
	case "node-sio5", "node-sio4":
		return startNode(filepath.Join("fixtures", strings.TrimPrefix(name, "node-")+".js"), noExt)
	case "node-sio5-csr":
		return startNode(filepath.Join("..", "..", "suites", "socketio", "testdata", "sio5-csr.js"), false)
	case "go-sio5":
		return serveHandler(fixture.NewSIO5(&fixture.SIOOptions{NoExt: noExt}), 5)
	case "go-sio5-csr":
		return serveHandler(newGoCSR(), 5)
	case "go-sio4":
		return serveHandler(fixture.NewSIO4(&fixture.SIOOptions{NoExt: noExt}), 4)
	case "broken-nosid":
		f := fixture.NewSIO5(&fixture.SIOOptions{NoExt: noExt})
		return serveHandler(closer{stripSID(f), f.Close}, 5)
	case "broken-lenient":
		f := fixture.NewSIO5(&fixture.SIOOptions{NoExt: noExt})
		return serveHandler(closer{dropBadPayloads(f), f.Close}, 5)
	}
	return "", 0, nil, fmt.Errorf("unknown fixture %q", name)
}

type closer struct {
	http.Handler
	close func(context.Context) error
}

func (c closer) Close(ctx context.Context) error { return c.close(ctx) }

type handlerCloser interface {
	http.Handler
	Close(context.Context) error
}

func serveHandler(h handlerCloser, rev int) (string, int, func(), error) {
	srv := httptest.NewServer(h)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Close(ctx)
		srv.CloseClientConnections()
		srv.Close()
	}
	return srv.URL, rev, stop, nil
}

// startNode runs node <script> --port 0 in testees/node and waits for its
// "listening" line; stop sends SIGTERM to that PID and waits for it.
func startNode(script string, noExt bool) (string, int, func(), error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testees", "node")
	args := []string{script, "--port", "0"}
	if noExt {
		args = append(args, "--no-ext")
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		// Drain the rest so the fixture never blocks on stdout.
		for sc.Scan() {
		}
	}()
	rev := 5
	if filepath.Base(script) == "sio4.js" {
		rev = 4
	}
	select {
	case l, ok := <-lines:
		if !ok || !strings.HasPrefix(l, "listening ") {
			stop()
			return "", 0, nil, fmt.Errorf("node %s: unexpected first line %q", script, l)
		}
		return strings.TrimPrefix(l, "listening "), rev, stop, nil
	case <-time.After(15 * time.Second):
		stop()
		return "", 0, nil, errors.New("node fixture did not print its listening line within 15s")
	}
}
