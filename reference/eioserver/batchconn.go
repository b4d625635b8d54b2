package eioserver

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"slices"
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

	// Read-ahead, used only by the read loop's goroutine: once a read
	// fills what gorilla's 4 KiB reader asks for (more is probably
	// waiting), the next reads take up to readAhead bytes into a pooled
	// buffer, which goes back to the pool once a read leaves it short
	// (the kernel's queue was drained) and it has been consumed.
	busy   bool
	ra     *[]byte
	raPos  int
	raFull bool
	raErr  error
}

// readAhead is the size of a read-ahead read.
const readAhead = 64 << 10

// Read reads directly into p while the connection is quiet (an idle
// session holds no read-ahead buffer) and through the read-ahead buffer
// while it is busy.
func (c *batchConn) Read(p []byte) (int, error) {
	if c.ra != nil {
		if c.raPos < len(*c.ra) {
			n := copy(p, (*c.ra)[c.raPos:])
			c.raPos += n
			return n, nil
		}
		if err := c.raErr; err != nil {
			c.raErr = nil
			c.releaseRA()
			return 0, err
		}
		if !c.raFull {
			c.releaseRA()
		}
	}
	if c.ra == nil && !c.busy {
		n, err := c.Conn.Read(p)
		c.busy = n == len(p) && len(p) < readAhead
		return n, err
	}
	if c.ra == nil {
		c.ra = c.srv.getBuf()
	}
	b := slices.Grow((*c.ra)[:0], readAhead)[:readAhead]
	n, err := c.Conn.Read(b)
	*c.ra, c.raPos, c.raFull, c.busy = b[:n], 0, n == readAhead, false
	if n == 0 {
		c.releaseRA()
		return 0, err
	}
	c.raErr = err
	m := copy(p, b[:n])
	c.raPos = m
	return m, nil
}

func (c *batchConn) releaseRA() {
	c.srv.putBuf(c.ra)
	c.ra, c.raPos, c.raFull = nil, 0, false
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
