package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"
)

// wsConn is the generator's WebSocket client: a minimal RFC 6455 client
// written for a cheap generator. Frames it sends carry a zero masking key
// (legal, and the payload goes out as is), so a batch of messages is one
// write; frames it receives are read from a buffered reader, and every
// frame already buffered is returned by the same recv.
type wsConn struct {
	nc  net.Conn
	br  *bufio.Reader
	raw bool

	wmu  sync.Mutex // a reader answering pings may write concurrently
	wbuf []byte
	rbuf []byte // frames returned by recv alias it until the next recv
	msg  []byte // a fragmented message being assembled
}

var errClosed = errors.New("websocket closed by the server")

// dialWS opens a session: the open packet, and CONNECT to "/" for
// Socket.IO.
func dialWS(ctx context.Context, addr string, im impl) (*wsConn, error) {
	d := net.Dialer{Timeout: ioTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(time.Now().Add(ioTimeout))
	req := "GET " + im.path() + "?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 16<<10)
	status, err := br.ReadString('\n')
	if err != nil || !bytes.HasPrefix([]byte(status), []byte("HTTP/1.1 101")) {
		nc.Close()
		return nil, fmt.Errorf("upgrade: %q %v", status, err)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			nc.Close()
			return nil, err
		}
		if l == "\r\n" {
			break
		}
	}
	_ = nc.SetDeadline(time.Time{})
	w := &wsConn{nc: nc, br: br, raw: im.raw}
	if im.raw {
		return w, nil
	}
	if err := w.open(im.proto); err != nil {
		nc.Close()
		return nil, err
	}
	return w, nil
}

func (w *wsConn) open(proto string) error {
	fs, err := w.recv()
	if err != nil {
		return err
	}
	if len(fs) != 1 || fs[0].binary || len(fs[0].data) == 0 || fs[0].data[0] != '0' {
		return errors.New("no open packet")
	}
	if proto != "sio" {
		return nil
	}
	if err := w.send([]frame{{data: []byte("40")}}); err != nil {
		return err
	}
	for {
		fs, err := w.recv()
		if err != nil {
			return err
		}
		for _, f := range fs {
			if !f.binary && bytes.HasPrefix(f.data, []byte("40")) {
				return nil
			}
			if !f.binary && bytes.HasPrefix(f.data, []byte("44")) {
				return fmt.Errorf("connect refused: %s", f.data)
			}
		}
	}
}

func appendFrame(b []byte, op byte, data []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(data); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0) // masking key 0
	return append(b, data...)
}

// send writes fs in one write.
func (w *wsConn) send(fs []frame) error { return w.sendN(fs, 1) }

// sendN writes fs n times in one write.
func (w *wsConn) sendN(fs []frame, n int) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	b := w.wbuf[:0]
	for range n {
		for _, f := range fs {
			op := byte(1)
			if f.binary {
				op = 2
			}
			b = appendFrame(b, op, f.data)
		}
	}
	w.wbuf = b
	_ = w.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := w.nc.Write(b)
	return err
}

func (w *wsConn) control(op byte, data []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := w.nc.Write(appendFrame(nil, op, data))
	return err
}

// recv blocks for one message and returns it with every further message
// already buffered. Engine.IO pings are answered.
func (w *wsConn) recv() ([]frame, error) {
	w.rbuf = w.rbuf[:0]
	var out []frame
	for len(out) == 0 || w.br.Buffered() > 0 {
		if len(out) > 0 && !w.frameBuffered() {
			break
		}
		if len(out) == 0 {
			_ = w.nc.SetReadDeadline(time.Now().Add(ioTimeout))
		}
		f, ok, err := w.readFrame()
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if !w.raw && !f.binary && len(f.data) == 1 && f.data[0] == '2' {
			if err := w.send([]frame{{data: []byte("3")}}); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// frameBuffered reports whether a whole frame is in the read buffer.
func (w *wsConn) frameBuffered() bool {
	n := w.br.Buffered()
	h, _ := w.br.Peek(min(n, 10))
	if len(h) < 2 {
		return false
	}
	l, hl := int(h[1]&0x7f), 2
	switch l {
	case 126:
		if len(h) < 4 {
			return false
		}
		l, hl = int(binary.BigEndian.Uint16(h[2:])), 4
	case 127:
		if len(h) < 10 {
			return false
		}
		l, hl = int(binary.BigEndian.Uint64(h[2:])), 10
	}
	return n >= hl+l
}

// readFrame reads one frame; ok is false for control frames and
// fragments of an unfinished message.
func (w *wsConn) readFrame() (frame, bool, error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return frame{}, false, err
	}
	fin, op := h[0]&0x80 != 0, h[0]&0x0f
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(w.br, e[:]); err != nil {
			return frame{}, false, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(w.br, e[:]); err != nil {
			return frame{}, false, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	if h[1]&0x80 != 0 || n > 1<<24 {
		return frame{}, false, errors.New("bad frame from server")
	}
	start := len(w.rbuf)
	w.rbuf = slices.Grow(w.rbuf, int(n))[:start+int(n)]
	data := w.rbuf[start:]
	if _, err := io.ReadFull(w.br, data); err != nil {
		return frame{}, false, err
	}
	switch op {
	case 8:
		return frame{}, false, errClosed
	case 9:
		return frame{}, false, w.control(10, data)
	case 10:
		return frame{}, false, nil
	case 0:
		w.msg = append(w.msg, data...)
		if !fin {
			return frame{}, false, nil
		}
		f := frame{binary: w.msg[0] == 2, data: w.msg[1:]}
		w.msg = nil
		return f, true, nil
	}
	if !fin {
		w.msg = append(append(w.msg[:0], op), data...)
		return frame{}, false, nil
	}
	return frame{binary: op == 2, data: data}, true, nil
}

func (w *wsConn) close() {
	_ = w.control(8, []byte{0x03, 0xe8})
	_ = w.nc.Close()
}
