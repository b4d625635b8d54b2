package faultproxy

import (
	"fmt"
	"time"
)

// WSBufferFrames holds WebSocket frames in its direction after a 101: with
// Hold, each frame is forwarded Hold after the proxy read it (what follows
// waits too); with UntilBytes, frames are held until that many bytes have
// accumulated and then forwarded together, so a quiet connection (a probe
// reply, a few pings) can stall indefinitely: antivirus software scanning
// WebSocket traffic (faults doc A9.3). Exactly one of Hold and UntilBytes is
// set. Held frames are released when the fault is removed or expires and at
// end of stream. Type "ws_buffer_frames", attributes "hold_ms" and
// "until_bytes".
type WSBufferFrames struct {
	Name       string    // default "ws_buffer_frames"
	Direction  Direction // default Downstream
	Scope      Scope     // AfterBytes must be 0
	Hold       time.Duration
	UntilBytes int64
}

// Type implements Fault.
func (WSBufferFrames) Type() string { return "ws_buffer_frames" }

// Validate implements Fault.
func (f WSBufferFrames) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if err := nonNeg(f.Type(), "Hold", "hold_ms", int64(f.Hold)); err != nil {
		return err
	}
	if err := nonNeg(f.Type(), "UntilBytes", "until_bytes", f.UntilBytes); err != nil {
		return err
	}
	if (f.Hold > 0) == (f.UntilBytes > 0) {
		return &FieldError{Fault: f.Type(), Field: "Hold", Attr: "hold_ms", Reason: "set exactly one of hold_ms and until_bytes"}
	}
	return nil
}

func (f WSBufferFrames) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type wsBufB struct {
	f    WSBufferFrames
	held heldBytes
	seen int
}

func (b *wsBufB) process(in *instance, ck chunk, next emitFunc) error {
	if ck.u == nil || ck.u.kind != unitWSFrame {
		if err := b.held.release(in, next, "unframed bytes follow"); err != nil {
			return err
		}
		return next(ck)
	}
	b.seen++
	if b.f.Hold > 0 {
		in.decide("delay", fmt.Sprintf("frame #%d by %s", b.seen, b.f.Hold))
		if _, err := in.wait(ck.at.Add(b.f.Hold)); err != nil {
			return err
		}
		return next(ck)
	}
	if len(b.held.data) == 0 {
		in.decide("hold", fmt.Sprintf("from frame #%d until %d bytes", b.seen, b.f.UntilBytes))
	}
	b.held.add(ck.data, ck.at)
	if int64(len(b.held.data)) < b.f.UntilBytes {
		return nil
	}
	return b.held.release(in, next, fmt.Sprintf("%d bytes reached", b.f.UntilBytes))
}

func (b *wsBufB) flushHeld(in *instance, next emitFunc, why string) error {
	return b.held.release(in, next, why)
}

// wsBufferFramesKind registers WSBufferFrames (see registry.go).
var wsBufferFramesKind = faultKind{
	typ: "ws_buffer_frames", goType: "WSBufferFrames", level: "websocket", where: "websocket",
	toxiproxy: false, stream: "downstream",
	summary: "`hold_ms` or `until_bytes` (stream default downstream)",
	attrs:   []AttrSpec{{"hold_ms", "ms", "forward each frame this long after it was read"}, {"until_bytes", "bytes", "hold frames until this many bytes, then forward them together"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return WSBufferFrames{Name: name, Direction: dir, Scope: sc, Hold: a.dur("hold_ms", time.Millisecond), UntilBytes: a.int("until_bytes")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(WSBufferFrames)
		attrs["hold_ms"], attrs["until_bytes"] = ms(f.Hold), f.UntilBytes
	},
	behaviour: func(x Fault) behaviour { return &wsBufB{f: x.(WSBufferFrames)} },
}
