package faultproxy

import "fmt"

// WSDropDirection silently discards every WebSocket frame in its direction
// once the connection has been upgraded (after the 101), while the other
// direction keeps flowing and nothing is closed: a one-way black hole. A
// compliant peer notices only through the heartbeat: with Downstream the
// client stops receiving PINGs (EIO-HB-04), with Upstream the server stops
// receiving PONGs (EIO-HB-03).
//
// By default only data frames (text, binary, continuation) are discarded
// and control frames (ping, pong, close) pass, so WebSocket-level keepalives
// and a close handshake still work and only Engine.IO traffic vanishes; set
// Control to discard them too (a link that carries nothing at all). Frames
// larger than the tap's 1 MiB inspection limit, and bytes the tap could not
// delimit, are discarded as a whole in either mode. Like every protocol
// fault it acts only on connections that run the tap: those accepted while a
// protocol fault exists, or every one with [Options.Tap]. Add the fault before the
// traffic it should affect: a frame already half forwarded when it is added
// loses its rest, which leaves that direction unframed. Before the upgrade
// (HTTP requests and responses, polling) it forwards everything. Type
// "ws_drop_direction", attribute "control" (bool); stream "upstream" or
// "downstream" (default "downstream").
type WSDropDirection struct {
	Name      string    // default "ws_drop_direction"
	Direction Direction // Upstream or Downstream; default Downstream
	Scope     Scope     // AfterBytes must be 0
	// Control also discards control frames (ping, pong, close). Default
	// false: only data frames are discarded.
	Control bool
}

// Type implements Fault.
func (WSDropDirection) Type() string { return "ws_drop_direction" }

// Validate implements Fault.
func (f WSDropDirection) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if f.Direction == Both {
		return &FieldError{Fault: f.Type(), Field: "Direction", Attr: "stream", Reason: "must be upstream or downstream (a one-way black hole; use blackhole for both)"}
	}
	return nil
}

func (f WSDropDirection) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type wsDropDirB struct {
	f      WSDropDirection
	frames int // frames discarded
	raw    int // chunks discarded that the tap could not delimit as frames
}

func (b *wsDropDirB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	switch {
	case u != nil && u.kind == unitWSFrame:
		op := u.frame.opcode
		if op >= 8 && !b.f.Control {
			return next(ck)
		}
		b.frames++
		in.decide("drop", fmt.Sprintf("websocket frame #%d (%s, %d bytes)", b.frames, wsOpcodeName(op), len(ck.data)))
		return nil
	case u == nil && in.c.ws.Load():
		// After the 101: pieces of a frame too large to hold whole, or
		// bytes the tap left undelimited.
		b.raw++
		in.decide("drop", fmt.Sprintf("%d bytes of websocket data not held as frames (#%d)", len(ck.data), b.raw))
		return nil
	}
	return next(ck)
}

// wsDropDirectionKind registers WSDropDirection (see registry.go).
var wsDropDirectionKind = faultKind{
	typ: "ws_drop_direction", goType: "WSDropDirection", level: "websocket", where: "websocket (after the 101)",
	toxiproxy: false, stream: "downstream",
	summary: "`control` bool (default false: data frames only; true also drops ping/pong/close); stream upstream|downstream (default downstream)",
	attrs:   []AttrSpec{{"control", "bool", "also drop ping, pong and close frames (default: data frames only)"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return WSDropDirection{Name: name, Direction: dir, Scope: sc, Control: a.boolean("control")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(WSDropDirection)
		attrs["control"] = f.Control
	},
	behaviour: func(x Fault) behaviour { return &wsDropDirB{f: x.(WSDropDirection)} },
}
