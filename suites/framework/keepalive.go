package framework

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
)

// End is how a server ended a session while the harness kept the session's
// heartbeat going (Conn.AwaitEnd).
type End struct {
	// How describes what the harness saw: "GET answered 400", "websocket
	// closed (code 1005)"...
	How string
	// At is the transcript time at which the end showed.
	At time.Duration
	// Pongs counts the server pings the harness answered while it waited
	// (v4); Pings the client pings it sent (v3).
	Pongs, Pings int
}

// Kept says what the harness did for the heartbeat while it waited, so that
// a report shows why the end cannot be a heartbeat timeout.
func (e End) Kept() string {
	switch {
	case e.Pings > 0:
		return fmt.Sprintf("the harness kept the heartbeat while it waited (sent %d v3 pings)", e.Pings)
	case e.Pongs > 0:
		return fmt.Sprintf("the harness kept the heartbeat while it waited (answered %d pings)", e.Pongs)
	}
	return "the harness kept the heartbeat while it waited (no ping fell due)"
}

// String renders the end with the heartbeat note.
func (e End) String() string { return e.How + "; " + e.Kept() }

// keepaliveEvery is how often a v3 client pings while waiting for an end:
// half the server's pingInterval, so that the server's
// pingInterval+pingTimeout deadline is always refreshed in time.
func keepaliveEvery(hs Handshake) time.Duration {
	return max(hs.Open.PingInterval/2, 10*time.Millisecond)
}

// heartbeatLog remembers, for one transport, when the server last pinged
// and when the harness last ponged, so that AwaitEnd can answer a ping the
// spec read but left unanswered.
type heartbeatLog struct {
	mu                 sync.Mutex
	lastPing, lastPong time.Duration
	sawPing            bool
}

func (h *heartbeatLog) ping(at time.Duration) {
	h.mu.Lock()
	h.lastPing, h.sawPing = at, true
	h.mu.Unlock()
}

func (h *heartbeatLog) pong(at time.Duration) {
	h.mu.Lock()
	h.lastPong = at
	h.mu.Unlock()
}

// owed reports a server ping that no pong followed.
func (h *heartbeatLog) owed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sawPing && h.lastPing >= h.lastPong
}

var pongPacket = engineio.TextPacket(engineio.Pong, "")
var pingPacket = engineio.TextPacket(engineio.Ping, "")

// AwaitEnd waits until the server ends the polling session, issuing GETs
// one after the other and keeping the heartbeat alive meanwhile: on v4 each
// server ping is answered with a pong (also one the spec read and left
// unanswered), on v3 the harness POSTs a ping every half pingInterval. The
// end shows as a GET answered with a status other than 200, a close packet
// in a GET response, or a failed GET. A server that lets the session live
// until ctx ends yields an error wrapping ErrStillOpen.
func (s *PollSession) AwaitEnd(ctx context.Context) (End, error) {
	var end End
	var mu sync.Mutex // guards end's counters against the v3 pinger
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	if s.c.version == engineio.V3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(keepaliveEvery(s.HS))
			defer t.Stop()
			for {
				if r, err := s.Post(pctx, pingPacket); err == nil && r.Status == http.StatusOK {
					mu.Lock()
					end.Pings++
					mu.Unlock()
				} else if pctx.Err() == nil {
					// The session is gone; the GET loop reports how.
					return
				}
				select {
				case <-pctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	} else if s.hb.owed() {
		if r, err := s.Post(ctx, pongPacket); err == nil && r.Status == http.StatusOK {
			end.Pongs++
		}
	}
	s.c.rec.Note("waiting for the server to end the session, keeping the heartbeat")
	finish := func(how string) (End, error) {
		stop()
		wg.Wait()
		end.How, end.At = how, s.c.rec.Since()
		s.c.rec.Note("session ended: " + end.String())
		return end, nil
	}
	for {
		r, pkts, err := s.Get(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return End{}, fmt.Errorf("%w: no end before the deadline (%v)", ErrStillOpen, context.Cause(ctx))
		case err != nil:
			return finish("GET failed: " + err.Error())
		case r.Status != http.StatusOK:
			return finish(fmt.Sprintf("GET answered %d", r.Status))
		}
		ping := false
		for _, pk := range pkts {
			switch pk.Type {
			case engineio.Close:
				return finish("GET answered with a close packet")
			case engineio.Ping:
				ping = ping || (s.c.version == engineio.V4 && !pk.Binary)
			}
		}
		if ping {
			pr, err := s.Post(ctx, pongPacket)
			if err == nil && pr.Status == http.StatusOK {
				end.Pongs++
			}
		}
	}
}

// AwaitEnd waits until the server closes the WebSocket carrying the
// session, keeping the heartbeat alive meanwhile: on v4 every server ping
// (also one the spec read and left unanswered) is answered with a pong; on
// v3 the harness sends a ping every half pingInterval. Frames are not
// consumed. A server that keeps the WebSocket open until ctx ends yields an
// error wrapping ErrStillOpen.
func (w *WSConn) AwaitEnd(ctx context.Context, hs Handshake) (End, error) {
	var end End
	v3 := w.c.version == engineio.V3
	var tick <-chan time.Time
	if v3 {
		t := time.NewTicker(keepaliveEvery(hs))
		defer t.Stop()
		tick = t.C
		if w.Send(pingPacket) == nil {
			end.Pings++
		}
	} else if w.hb.owed() {
		if w.Send(pongPacket) == nil {
			end.Pongs++
		}
	}
	w.c.rec.Add(w.id, DirLocal, KindNote, "waiting for the server to close the WebSocket, keeping the heartbeat", nil)
	w.mu.Lock()
	scanned := len(w.frames)
	w.mu.Unlock()
	for {
		w.mu.Lock()
		fresh := w.frames[scanned:]
		scanned = len(w.frames)
		closed := w.closeErr
		ch := w.notify
		w.mu.Unlock()
		if !v3 {
			for _, f := range fresh {
				if f.ParseErr == nil && !f.Binary && f.Packet.Type == engineio.Ping && len(f.Packet.Data) == 0 {
					if w.Send(pongPacket) == nil {
						end.Pongs++
					}
				}
			}
		}
		if closed != nil {
			end.How, end.At = fmt.Sprintf("websocket closed (code %d)", closed.Code), w.ClosedAt()
			w.c.rec.Add(w.id, DirLocal, KindNote, "session ended: "+end.String(), nil)
			return end, nil
		}
		select {
		case <-ch:
		case <-tick:
			if w.Send(pingPacket) == nil {
				end.Pings++
			}
		case <-ctx.Done():
			return End{}, fmt.Errorf("%w: the WebSocket stayed open until the deadline (%v)", ErrStillOpen, context.Cause(ctx))
		}
	}
}

// KeepAlive keeps the session carried by the WebSocket alive in the
// background (as AwaitEnd does) until stop is called or ctx ends; stop
// waits for the goroutine. It lets a spec check something on another
// channel (a polling request for an upgraded session) without the
// session timing out meanwhile.
func (w *WSConn) KeepAlive(ctx context.Context, hs Handshake) (stop func()) {
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = w.AwaitEnd(cctx, hs)
	}()
	return func() {
		cancel()
		<-done
	}
}

// noteWSFrame updates the heartbeat log from a text frame written or read on
// a WebSocket.
func noteWSFrame(h *heartbeatLog, at time.Duration, mt int, b []byte, fromServer bool) {
	if mt != websocket.TextMessage || len(b) != 1 {
		return
	}
	switch {
	case fromServer && b[0] == '2':
		h.ping(at)
	case !fromServer && b[0] == '3':
		h.pong(at)
	}
}
