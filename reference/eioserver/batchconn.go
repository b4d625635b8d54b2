package eioserver

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"
)

// maxBatch is the most bytes a batchConn gathers before writing.
const maxBatch = 64 << 10

// batchConn is the connection under a server WebSocket. While the writer
// goroutine writes a batch of packets (begin ... end), the frames gorilla
// writes are gathered and go out in one write at end: one system call for
// a batch instead of one per message, the bytes unchanged. Outside a
// batch (control frames from the read loop, the close frame) writes go
// straight through. gorilla serialises its own writes; mu orders them
// with the flush at end and with the data frames the writer appends
// itself (writeData, ws_frame.go): every frame goes into the batch whole,
// under mu, so a control frame gorilla writes from the read loop lands
// between two data frames, never inside one.
type batchConn struct {
	net.Conn
	srv *Server
	rc  syscall.RawConn // set by the hijacker on a TCP connection: see readRaw
	buf *[]byte         // from srv's pool while batching
	ra  *[]byte         // read-ahead
	// werr is the first error of a write to Conn (mu); writeData
	// returns it from then on, as gorilla's sticky write error does.
	werr  error
	raErr error
	// wdl is the write deadline last set on Conn (mu), batchDL the
	// batch's own (see batchDeadlineLocked), in Unix nanoseconds.
	wdl, batchDL int64
	mu           sync.Mutex

	batching bool
	// closeSent is set once gorilla has written a close frame (mu):
	// writeData then refuses, as gorilla's WriteMessage does.
	closeSent bool

	// Read-ahead, used only by the read loop's goroutine: on TCP see
	// readRaw; otherwise, once a read fills what gorilla's reader asks
	// for (more is probably waiting), the next reads take up to
	// readAhead bytes into a pooled buffer, which goes back to the pool
	// once a read leaves it short (the kernel's queue was drained) and
	// it has been consumed.
	busy   bool
	raFull bool
	raPos  int
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
			if c.rc != nil && c.raPos == len(*c.ra) {
				c.releaseRA() // consumed: the session holds no buffer
			}
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
	if c.rc != nil {
		if c.ra != nil {
			c.releaseRA()
		}
		return c.readRaw(p)
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

// Write is gorilla's: the upgrade response, control frames (each in one
// call) and, with permessage-deflate, data frames.
func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) >= 2 && p[0] == wsFinClose {
		// gorilla writes a control frame in one call; a close frame
		// ends the data frames (gorilla: ErrCloseSent). With
		// permessage-deflate, where a data frame may be written in two
		// calls, writeData is not used and the flag is never read.
		c.closeSent = true
	}
	if !c.batching {
		n, err := c.Conn.Write(p)
		if err != nil && c.werr == nil {
			c.werr = err
		}
		return n, err
	}
	if len(*c.buf)+len(p) > maxBatch {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxBatch {
			n, err := c.Conn.Write(p)
			if err != nil && c.werr == nil {
				c.werr = err
			}
			return n, err
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// SetWriteDeadline is gorilla's, before each of its writes: applied as
// asked.
func (c *batchConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = unixNano(t)
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines (gorilla's Upgrade clears them).
func (c *batchConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wdl = unixNano(t)
	return c.Conn.SetDeadline(t)
}

// unixNano is t in Unix nanoseconds, 0 for the zero time (no deadline).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// batchDeadlineLocked sets Conn's write deadline to the batch's, unless
// the one in force is earlier by at most a wsDeadlineSlack-th of the
// time left (arming the runtime's timer again for every batch was 6 %
// of a broadcast's CPU): a write may then time out that much early. A
// batch without a deadline leaves the one in force.
func (c *batchConn) batchDeadlineLocked() error {
	dl := c.batchDL
	if dl == 0 {
		return nil
	}
	if c.wdl != 0 && dl >= c.wdl && dl-c.wdl <= (dl-time.Now().UnixNano())/wsDeadlineSlack {
		return nil
	}
	c.wdl = dl
	return c.Conn.SetWriteDeadline(time.Unix(0, dl))
}

// begin starts gathering writes; the batch is flushed under deadline dl
// (see batchDeadlineLocked), or under whatever gorilla set last if dl is
// zero.
func (c *batchConn) begin(dl time.Time) {
	c.mu.Lock()
	c.batching = true
	c.buf = c.srv.getBuf()
	c.batchDL = unixNano(dl)
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
	if len(b) == 0 {
		return c.werr
	}
	if c.werr != nil {
		return c.werr
	}
	if err := c.batchDeadlineLocked(); err != nil {
		c.werr = err
		return err
	}
	for len(b) > 0 {
		n, err := c.Conn.Write(b)
		if err != nil {
			c.werr = err
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
	h.conn = &batchConn{Conn: nc, srv: h.srv, rc: rawReadConn(nc)}
	return h.conn, brw, nil
}
