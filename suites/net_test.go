package suites

import (
	"os"
	"testing"
	"time"

	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// netServerCmd is a --server-cmd that runs this test binary as the server
// of mode (see envNetServe).
func netServerCmd(t tb, mode string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("executable: %v", err)
	}
	return envNetServe + "=" + mode + " '" + exe + "' " + framework.PortPlaceholder
}

// netConfig is a run of the net suite against url.
func netConfig(url string, n *framework.NetConfig) framework.Config {
	c := framework.Config{URL: url, Net: n}
	cfg := framework.Config{Suites: []framework.Proto{framework.NET}, Targets: map[framework.Proto]*framework.Config{framework.NET: c.For(framework.NET)}, Net: n}
	return cfg
}

// serveRef serves an in-process reference fixture for the net suite.
func serveRef(t tb, opts *fixture.SIOOptions) string {
	t.Helper()
	fx := fixture.NewSIO5(opts)
	return serve(t, fx, func() { _ = fx.Close(t.Context()) })
}

// TestNetDebug runs the net suite in this process with Ginkgo's console
// report, for debugging: NET_DEBUG=1 [NET_URL=U NET_URL2=U2 NET_CMD=CMD]
// [NET_FILTER=labels] go test ./suites -run TestNetDebug -v. Without
// NET_URL it targets the in-process reference.
func TestNetDebug(t *testing.T) {
	if os.Getenv("NET_DEBUG") == "" {
		t.Skip("NET_DEBUG not set")
	}
	url := serveRef(t, netRefOptions())
	url2 := serveRef(t, netRefOptions())
	cmd := netServerCmd(t, "ref")
	if u := os.Getenv("NET_URL"); u != "" {
		url, url2, cmd = u, os.Getenv("NET_URL2"), os.Getenv("NET_CMD")
	}
	n := &framework.NetConfig{ServerCmd: cmd, Trials: 2}
	if url2 != "" {
		n.Instances = []string{url2}
	}
	cfg := netConfig(url, n)
	_, err := RunServer(t.Context(), cfg, &RunOptions{LabelFilter: os.Getenv("NET_FILTER"), Console: os.Stderr, Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
}
