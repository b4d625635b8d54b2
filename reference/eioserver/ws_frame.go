package eioserver

import (
	"encoding/binary"
	"net"
	"slices"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// Data frames written without gorilla. Without permessage-deflate the
// server's data frames are plain (RFC 6455 5.2: FIN, no RSV bit, the
// opcode, no mask, the shortest length form gorilla uses), so the writer
// appends each frame's header and payload to the batch once, instead of
// encoding into a buffer that gorilla copies into its write buffer and
// then into the batch. gorilla still does the upgrade, reading, control
// frames and everything compressed. TestWSFramesAsGorilla writes the same
// packets both ways and compares the bytes.

const (
	wsFin      = 0x80
	wsFinClose = wsFin | websocket.CloseMessage // first byte of a close frame
)

// wsHeaderLen returns the length of the header of an unmasked frame
// carrying n bytes.
func wsHeaderLen(n int) int {
	switch {
	case n >= 65536:
		return 10
	case n > 125:
		return 4
	default:
		return 2
	}
}

// putWSHeader writes the header of an unmasked final frame of opcode op
// carrying n bytes into dst, which has wsHeaderLen(n) bytes.
func putWSHeader(dst []byte, op byte, n int) {
	dst[0] = wsFin | op
	switch {
	case n >= 65536:
		dst[1] = 127
		binary.BigEndian.PutUint64(dst[2:], uint64(n))
	case n > 125:
		dst[1] = 126
		binary.BigEndian.PutUint16(dst[2:], uint16(n))
	default:
		dst[1] = byte(n)
	}
}

// wsPayloadLen returns the length of the message that carries p: exact
// for the encoder's forms, and only a guess used to place the header (a
// wrong guess costs a move of the payload, never a different byte).
func wsPayloadLen(v engineio.Version, asText bool, p engineio.Packet) int {
	switch {
	case asText:
		n := 1 + (len(p.Data)+2)/3*4
		if v == engineio.V3 {
			n++
		}
		return n
	case p.Binary && v == engineio.V4:
		return len(p.Data)
	default:
		return 1 + len(p.Data)
	}
}

// writeData adds the data frame that carries p to the batch (between
// begin and end): as text when p is text or binary must go as base64
// (supportsBinary false, EIO-URL-08), else binary. It fails, writing
// nothing, once a close frame has been written or a write has failed.
func (c *batchConn) writeData(v engineio.Version, supportsBinary bool, p engineio.Packet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeSent {
		return websocket.ErrCloseSent
	}
	if c.werr != nil {
		return c.werr
	}
	asText := p.Binary && !supportsBinary
	op := byte(websocket.TextMessage)
	if p.Binary && supportsBinary {
		op = websocket.BinaryMessage
	}
	est := wsPayloadLen(v, asText, p)
	hl := wsHeaderLen(est)
	if len(*c.buf) > 0 && len(*c.buf)+hl+est > maxBatch {
		if err := c.flushLocked(); err != nil {
			return err
		}
	}
	b := *c.buf
	start := len(b)
	if op == websocket.BinaryMessage && v == engineio.V4 && len(p.Data) > maxBatch {
		// A large binary message goes out from the packet's bytes,
		// after the batch and its header, in one writev.
		b = slices.Grow(b, hl)[:start+hl]
		putWSHeader(b[start:], op, len(p.Data))
		*c.buf = b
		return c.flushWithLocked(p.Data)
	}
	b = slices.Grow(b, hl+est)[:start+hl]
	var err error
	if asText {
		b, err = encoder.AppendText(b, v, p)
	} else {
		b, _, err = encoder.AppendFrame(b, v, p)
	}
	if err != nil {
		*c.buf = b[:start]
		return err
	}
	*c.buf = finishFrame(b, start, hl, op)
	return nil
}

// finishFrame writes the header of the frame of opcode op that starts at
// b[start], whose payload was appended after hl bytes left for the
// header, and returns b. If the payload's length needs another header
// length, the payload is moved.
func finishFrame(b []byte, start, hl int, op byte) []byte {
	n := len(b) - start - hl
	if h := wsHeaderLen(n); h != hl {
		if h > hl {
			b = append(b, make([]byte, h-hl)...)
		}
		copy(b[start+h:], b[start+hl:start+hl+n])
		b = b[:start+h+n]
		hl = h
	}
	putWSHeader(b[start:start+hl], op, n)
	return b
}

// flushWithLocked writes the batch followed by extra, in one writev on a
// TCP connection.
func (c *batchConn) flushWithLocked(extra []byte) error {
	if c.werr != nil {
		return c.werr
	}
	if err := c.batchDeadlineLocked(); err != nil {
		c.werr = err
		return err
	}
	b := *c.buf
	*c.buf = b[:0]
	bufs := net.Buffers{b, extra}
	if _, err := bufs.WriteTo(c.Conn); err != nil {
		c.werr = err
		return err
	}
	return nil
}
