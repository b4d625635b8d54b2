package eioserver

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
)

// maxBatch is the most bytes a batchConn gathers before writing.
const maxBatch = 64 << 10

// batchConn is the connection under a server WebSocket. While the writer
// goroutine writes a batch of packets (begin ... end), the frames gorilla
// writes are gathered and go out in one write at end: one system call for
// a batch instead of one per message, the bytes unchanged. Outside a
// batch (control frames from the read loop, the close frame) writes go
// straight through. gorilla serialises its own writes; mu orders them
// with the flush at end.
type batchConn struct {
	net.Conn
	srv *Server

	mu       sync.Mutex
	batching bool
	buf      *[]byte // from srv's pool while batching
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batching {
		return c.Conn.Write(p)
	}
	if len(*c.buf)+len(p) > maxBatch {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxBatch {
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// begin starts gathering writes.
func (c *batchConn) begin() {
	c.mu.Lock()
	c.batching = true
	c.buf = c.srv.getBuf()
	c.mu.Unlock()
}

// end writes what was gathered since begin and stops gathering.
func (c *batchConn) end() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batching {
		return nil
	}
	c.batching = false
	err := c.flushLocked()
	c.srv.putBuf(c.buf)
	c.buf = nil
	return err
}

func (c *batchConn) flushLocked() error {
	b := *c.buf
	*c.buf = b[:0]
	for len(b) > 0 {
		n, err := c.Conn.Write(b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// hijacker hands gorilla's Upgrade a batchConn instead of the hijacked
// connection.
type hijacker struct {
	http.ResponseWriter
	srv  *Server
	conn *batchConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("eioserver: response does not implement http.Hijacker")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: nc, srv: h.srv}
	return h.conn, brw, nil
}
