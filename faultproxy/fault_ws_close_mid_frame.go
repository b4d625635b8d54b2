package faultproxy

import "fmt"

// WSCloseMidFrame cuts the connection in the middle of the Nth complete
// WebSocket frame in its direction (counted per connection; 0 means the first
// one): half the frame is forwarded, then the connection is closed with
// Close (FIN or RST). Type "ws_close_mid_frame", attributes "nth" and
// "close".
type WSCloseMidFrame struct {
	Name      string    // default "ws_close_mid_frame"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	Nth       int
	Close     CloseMode
}

// Type implements Fault.
func (WSCloseMidFrame) Type() string { return "ws_close_mid_frame" }

// Validate implements Fault.
func (f WSCloseMidFrame) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if f.Nth < 0 {
		return &FieldError{Fault: f.Type(), Field: "Nth", Attr: "nth", Reason: "must not be negative"}
	}
	if f.Close > CloseRST {
		return &FieldError{Fault: f.Type(), Field: "Close", Attr: "close", Reason: "unknown close mode"}
	}
	return nil
}

func (f WSCloseMidFrame) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type midFrameB struct {
	f    WSCloseMidFrame
	seen int
}

func (b *midFrameB) process(in *instance, ck chunk, next emitFunc) error {
	if ck.u == nil || ck.u.kind != unitWSFrame {
		return next(ck)
	}
	b.seen++
	if b.seen != max(b.f.Nth, 1) {
		return next(ck)
	}
	half := len(ck.data) / 2
	in.decide("close", fmt.Sprintf("frame #%d after %d of %d bytes (%s)", b.seen, half, len(ck.data), b.f.Close))
	if err := next(chunk{data: ck.data[:half], at: ck.at, buf: ck.buf}); err != nil {
		return err
	}
	in.c.abort(b.f.Close)
	return errAborted
}

// wsCloseMidFrameKind registers WSCloseMidFrame (see registry.go).
var wsCloseMidFrameKind = faultKind{
	typ: "ws_close_mid_frame", goType: "WSCloseMidFrame", level: "websocket", where: "websocket",
	toxiproxy: false, stream: "upstream",
	summary: "`nth`, `close` fin|rst",
	attrs:   []AttrSpec{{"nth", "count", "the nth WebSocket frame (0 = the first)"}, {"close", "fin|rst", "how to close"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return WSCloseMidFrame{Name: name, Direction: dir, Scope: sc, Nth: int(a.int("nth")), Close: a.closeMode("close")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(WSCloseMidFrame)
		attrs["nth"], attrs["close"] = f.Nth, f.Close.String()
	},
	behaviour: func(x Fault) behaviour { return &midFrameB{f: x.(WSCloseMidFrame)} },
}
