package sioclient

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/siospec/siospec/protocol/socketio"
)

// Message holds the arguments of an event or of an ACK as they came on the
// wire: each argument's JSON text, and for a binary packet the attachments,
// which the arguments reference with placeholders
// {"_placeholder":true,"num":N} (SIO-BIN-01). Message owns its slices.
type Message struct {
	// Args are the arguments (for an event: without the event name).
	Args []json.RawMessage
	// Binary holds the attachments of a BINARY_EVENT or BINARY_ACK, in num
	// order; nil otherwise.
	Binary [][]byte
}

// Len returns the number of arguments.
func (m Message) Len() int { return len(m.Args) }

// Value returns argument i as generic values (see socketio.ParseJSON), with
// placeholders replaced by their attachments ([]byte) when the packet was
// binary.
func (m Message) Value(i int) (any, error) {
	if i < 0 || i >= len(m.Args) {
		return nil, fmt.Errorf("sioclient: argument %d of %d", i, len(m.Args))
	}
	if m.Binary != nil {
		return socketio.Reconstruct(m.Args[i], m.Binary)
	}
	return socketio.ParseJSON(m.Args[i])
}

// Values returns every argument as Value does.
func (m Message) Values() ([]any, error) {
	out := make([]any, len(m.Args))
	for i := range m.Args {
		v, err := m.Value(i)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Bytes returns argument i when it is an attachment.
func (m Message) Bytes(i int) ([]byte, bool) {
	if m.Binary == nil {
		return nil, false
	}
	v, err := m.Value(i)
	if err != nil {
		return nil, false
	}
	b, ok := v.([]byte)
	return b, ok
}

// Unmarshal decodes argument i into v with encoding/json.
func (m Message) Unmarshal(i int, v any) error {
	if i < 0 || i >= len(m.Args) {
		return fmt.Errorf("sioclient: argument %d of %d", i, len(m.Args))
	}
	return json.Unmarshal(m.Args[i], v)
}

// String renders the arguments as a JSON array, with the attachment count.
func (m Message) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, a := range m.Args {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(a)
	}
	b.WriteByte(']')
	if len(m.Binary) > 0 {
		fmt.Fprintf(&b, " +%d attachment(s)", len(m.Binary))
	}
	return b.String()
}

// messageOf splits the payload of a complete EVENT/ACK packet. For an event,
// the first element (the name) is dropped.
func messageOf(p socketio.Packet, event bool) (Message, error) {
	var m Message
	if len(p.Data) > 0 {
		if err := json.Unmarshal(p.Data, &m.Args); err != nil {
			return Message{}, err
		}
	}
	if event && len(m.Args) > 0 {
		m.Args = m.Args[1:]
	}
	if p.Type.IsBinary() {
		m.Binary = p.Binary
		if m.Binary == nil {
			m.Binary = [][]byte{}
		}
	}
	return m, nil
}
