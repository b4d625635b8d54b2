package faultproxy

import (
	"fmt"
	"strings"

	"github.com/siospec/siospec/protocol/socketio"
)

func wsOpcodeName(op byte) string {
	switch op {
	case 0:
		return "continuation"
	case 1:
		return "text"
	case 2:
		return "binary"
	case 8:
		return "close"
	case 9:
		return "ping"
	case 10:
		return "pong"
	}
	return fmt.Sprintf("opcode %d", op)
}

func describeSIO(p socketio.Packet, n int, where string) string {
	s := fmt.Sprintf("%s #%d nsp %s", p.Type, n, p.Namespace())
	if name, err := p.EventName(); err == nil && (p.Type == socketio.Event || p.Type == socketio.BinaryEvent) {
		s += fmt.Sprintf(" event %q", name)
	}
	if p.HasID {
		s += fmt.Sprintf(" id %d", p.ID)
	}
	if p.Type.IsBinary() {
		s += fmt.Sprintf(" with %d attachment(s)", p.Attachments)
	}
	return s + " (" + where + ")"
}

// parseSIOTypes reads Socket.IO packet type names ("event", or
// ["event","ack"]); "error" is accepted for connect_error (its v4 name).
func parseSIOTypes(a *attrReader, name string) []socketio.PacketType {
	var names []string
	if v, ok := a.raw(name); !ok {
		return nil
	} else if s := strings.TrimSpace(string(v)); len(s) > 0 && s[0] == '"' {
		names = []string{a.str(name)}
	} else {
		names = a.strs(name)
	}
	var out []socketio.PacketType
	for _, n := range names {
		found := false
		for t := socketio.Connect; t <= socketio.BinaryAck; t++ {
			if strings.EqualFold(t.String(), n) || strings.EqualFold(t.Name(socketio.V4), n) {
				out = append(out, t)
				found = true
				break
			}
		}
		if !found {
			a.fail(name, fmt.Sprintf("unknown packet type %q (want connect, disconnect, event, ack, connect_error, binary_event or binary_ack)", n))
		}
	}
	return out
}

func sioTypeNames(ts []socketio.PacketType) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = strings.ToLower(t.String())
	}
	return names
}
