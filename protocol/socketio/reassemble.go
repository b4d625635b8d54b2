package socketio

import "strconv"

// Reassembler turns the messages of one connection into complete packets:
// a text packet, then for BINARY_EVENT and BINARY_ACK its attachments one by
// one (SIO-BIN-02). It rejects a text packet while attachments are still
// expected (ErrUnexpectedText, SIO-BIN-03) and an attachment when none is
// expected (ErrUnexpectedBinary, SIO-BIN-04). After any error the pending
// packet is dropped, as Node closes the connection.
//
// The zero value is ready to use with the default Decoder. A Reassembler
// keeps the slices it is given (Data of the header and each attachment)
// without copying them. It is not safe for concurrent use.
type Reassembler struct {
	// Decoder decodes the text packets.
	Decoder Decoder

	pending Packet
	active  bool
}

// AddText decodes a text packet. It returns the packet and true when the
// packet is complete (every non-binary packet, and a binary one with no
// attachments); for a binary header it returns the header and false.
func (r *Reassembler) AddText(b []byte) (Packet, bool, error) {
	var p Packet
	done, err := r.AddTextTo(&p, b)
	if err != nil {
		return Packet{}, false, err
	}
	return p, done, nil
}

// AddTextTo is AddText storing the packet in *dst instead of returning it,
// for a caller that keeps the packet being handled out of its stack (a
// server's reader goroutine). On error *dst is the zero Packet.
func (r *Reassembler) AddTextTo(dst *Packet, b []byte) (bool, error) {
	if r.active {
		*dst = Packet{}
		return false, r.unexpectedText()
	}
	if err := r.Decoder.decodeInto(dst, b); err != nil {
		*dst = Packet{}
		return false, err
	}
	if !dst.Type.IsBinary() {
		return true, nil
	}
	dst.Binary = make([][]byte, 0, dst.Attachments)
	if dst.Attachments == 0 {
		return true, nil
	}
	r.pending, r.active = *dst, true
	return false, nil
}

//go:noinline
func (r *Reassembler) unexpectedText() error {
	n := r.Waiting()
	r.Reset()
	return decodeErr(0, ErrUnexpectedText, "still waiting for "+strconv.Itoa(n)+" attachment(s)")
}

// AddBinary adds the next attachment. It returns the completed packet and
// true with the last one, and false before.
func (r *Reassembler) AddBinary(b []byte) (Packet, bool, error) {
	if !r.active {
		return Packet{}, false, decodeErr(0, ErrUnexpectedBinary, "no binary packet is waiting for attachments")
	}
	r.pending.Binary = append(r.pending.Binary, b)
	if len(r.pending.Binary) < r.pending.Attachments {
		return Packet{}, false, nil
	}
	p := r.pending
	r.Reset()
	return p, true, nil
}

// Waiting returns how many attachments the pending packet still needs (0
// when nothing is pending).
func (r *Reassembler) Waiting() int {
	if !r.active {
		return 0
	}
	return r.pending.Attachments - len(r.pending.Binary)
}

// Reset drops any pending packet.
func (r *Reassembler) Reset() {
	r.pending, r.active = Packet{}, false
}
