//go:build unix

package eioserver

import (
	"io"
	"net"
	"os"
	"slices"
	"syscall"
)

// rawReadConn returns the raw connection readRaw reads through, or nil
// (batchConn then reads through nc) when nc has none.
func rawReadConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// readRaw reads, once the read-ahead buffer is consumed, up to readAhead
// bytes into a pooled buffer taken only when the socket has something to
// read: the buffer is taken and, if the read would block, put back before
// the goroutine waits, so an idle session holds none. This is one read
// system call per burst, where a direct read of gorilla's 512 bytes
// followed by a read-ahead read of the rest were two (a 4 KiB message
// alone on its connection).
func (c *batchConn) readRaw(p []byte) (int, error) {
	// The callback is a method value holding only c (what a parked
	// reader keeps on the heap); its results are in c.ra and c.raErr.
	if err := c.rc.Read(c.rawRead); err != nil {
		return 0, err
	}
	if c.ra == nil {
		err := c.raErr
		c.raErr = nil
		return 0, err
	}
	b := *c.ra
	m := copy(p, b)
	c.raPos = m
	if m == len(b) {
		c.releaseRA()
	}
	return m, nil
}

// rawRead is readRaw's callback: one read into a pooled buffer, kept in
// c.ra if it got bytes; the end of the stream or an error goes to
// c.raErr. It reports false, with the buffer back in the pool, if the
// read would block.
func (c *batchConn) rawRead(fd uintptr) bool {
	bp := c.srv.getBuf()
	b := slices.Grow((*bp)[:0], readAhead)[:readAhead]
	var n int
	var err error
	for {
		n, err = syscall.Read(int(fd), b)
		if err != syscall.EINTR {
			break
		}
	}
	if n > 0 {
		*bp = b[:n]
		c.ra, c.raPos, c.raFull = bp, 0, n == readAhead
		return true
	}
	*bp = b[:0]
	c.srv.putBuf(bp)
	switch {
	case err == syscall.EAGAIN:
		return false
	case err != nil:
		c.raErr = &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", err)}
	default:
		c.raErr = io.EOF
	}
	return true
}
