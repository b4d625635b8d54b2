package suites

import (
	"context"
	"net/http"
	"regexp"
	"testing"

	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// Broken variants for the specs whose waits the speed work changed: each
// shows that the changed check still fails for a server that breaks its
// rule.

// lastBigEchoDropped breaks EIO-LIMIT-05 on polling: a GET response that
// carries several large echoes loses the last one, as a server that caps
// what it sends the client by maxPayload would.
var lastBigEchoRe = regexp.MustCompile(`\x1e4y{1000,}$`)

// pingAppended adds a ping to every polling GET response that carries large
// echoes: a server that queued its ping with them. EIO-LIMIT-05 must still
// pass (the rule is about the echoes).
var bigEchoesRe = regexp.MustCompile(`(4y{1000,})$`)

func TestSpeedVariants(t *testing.T) {
	skipProof(t)
	t.Parallel()
	eio4 := func() fixture.Fixture { return fixture.NewEIO4(proofFixtureOptions()) }
	for _, v := range []variant{
		{"last-big-echo-dropped", "server-to-client payloads are not capped by maxPayload", framework.EIO4,
			func() (http.Handler, func()) {
				fx := fixture.NewEIO4(bulkFixtureOptions())
				return rewritePollGET(fx, lastBigEchoRe, "", false), func() { _ = fx.Close(context.Background()) }
			},
			"area:limits && transport:polling", []string{"EIO-LIMIT-05"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			prooftest.Run(t, nil, func(a *prooftest.Attempt) { judgeVariant(a, v) })
		})
	}
	t.Run("ping-with-big-echoes", func(t *testing.T) {
		prooftest.Run(t, nil, func(a *prooftest.Attempt) {
			fx := eio4()
			h := rewritePollGET(fx, bigEchoesRe, "${1}\x1e2", false)
			cfg := framework.Config{URL: serve(a, h, func() { _ = fx.Close(context.Background()) })}
			vs, _ := runSuites(a, framework.Config{Suites: []framework.Proto{framework.EIO4},
				Targets: map[framework.Proto]*framework.Config{framework.EIO4: cfg.For(framework.EIO4)}}, "req:EIO-LIMIT-05 && transport:polling")
			a.Judged(len(vs))
			if len(vs) != 1 || vs[0].State.String() != "passed" {
				a.Errorf("EIO-LIMIT-05 with a ping among the echoes: %s", verdictTable(vs))
			}
		})
	})
}
