package faultproxy

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/sioclient"
)

// TestReferenceClientStaysOnPolling runs siospec's reference Socket.IO
// client through the corporate-firewall and ws-stripping-proxy profiles to
// the reference Socket.IO fixture: the upgrade probe fails, the session
// stays on polling, and events and acks keep flowing (EIO-UPG-13; the
// client-side fallback the reference client must show).
func TestReferenceClientStaysOnPolling(t *testing.T) {
	for _, profile := range []string{"corporate-firewall", "ws-stripping-proxy"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			// A long heartbeat: this test is about the upgrade, and an
			// overloaded machine must not time the session out.
			fx := fixture.NewSIO5(&fixture.SIOOptions{Options: fixture.Options{PingInterval: 2 * time.Second, PingTimeout: 5 * time.Second}})
			srv := httptest.NewServer(fx)
			t.Cleanup(func() {
				srv.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := fx.Close(ctx); err != nil {
					t.Errorf("fixture close: %v", err)
				}
			})

			p, err := New(strings.TrimPrefix(srv.URL, "http://"), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			pr, err := NewProfile(profile, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.ApplyProfile(pr); err != nil {
				t.Fatal(err)
			}

			m, err := sioclient.NewManager("http://"+p.Addr(), &sioclient.ManagerOptions{NoReconnection: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			s := m.Socket("/", nil)
			if err := s.Connect(ctx); err != nil {
				t.Fatalf("connect through %s: %v", profile, err)
			}
			eng := m.Engine()
			if eng == nil {
				t.Fatal("no Engine.IO session after connect")
			}
			select {
			case ev := <-eng.Events():
				if ev.Type != eioclient.EventUpgradeError {
					t.Fatalf("first session event = %v (transport %q, reason %q, err %v), want an upgrade error", ev.Type, ev.Transport, ev.Reason, ev.Err)
				}
			case <-ctx.Done():
				t.Fatal("the upgrade attempt never ended")
			}
			for i := range 5 {
				res, err := s.Timeout(10*time.Second).EmitWithAck(ctx, "message-with-ack", i, "x", []byte{byte(i)})
				if err != nil {
					t.Fatalf("ack %d after the failed upgrade: %v", i, err)
				}
				var n int
				if err := res.Unmarshal(0, &n); err != nil || n != i {
					t.Fatalf("ack %d: first argument %s (%v), want %d", i, res, err, i)
				}
				if b, ok := res.Bytes(2); !ok || len(b) != 1 || b[0] != byte(i) {
					t.Fatalf("ack %d: binary argument %v, want [%d]", i, b, i)
				}
			}
			if tr := eng.Transport(); tr != "polling" {
				t.Fatalf("transport = %q after a refused upgrade, want polling", tr)
			}
			ds, _ := p.Decisions()
			fired := false
			for _, d := range ds {
				if strings.HasPrefix(d.Fault, profile+".") {
					fired = true
				}
			}
			if !fired {
				t.Fatalf("no decision of profile %s in the log (%d decisions): the probe did not meet the fault", profile, len(ds))
			}
		})
	}
}
