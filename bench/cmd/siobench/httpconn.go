package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// httpConn is the generator's HTTP/1.1 client for polling: one persistent
// TCP connection on which requests go one at a time, each written in one
// write from a reused buffer, the response read from a buffered reader
// into a reused body buffer. It reads Content-Length and chunked bodies
// and bodies ended by the close; after "Connection: close" (or an error)
// the next request dials again.
type httpConn struct {
	addr string

	mu     sync.Mutex // one request at a time
	cmu    sync.Mutex // guards nc and closed, so that closeConn need not wait for mu
	nc     net.Conn
	closed bool // closeConn was called: no more dials
	br     *bufio.Reader
	used   time.Time // end of the last exchange, to skip a connection idle too long
	wbuf   []byte
	body   []byte // returned by do; valid until the next do
}

// idleRedial is how long a connection may sit idle before the next
// request dials a fresh one rather than risk one the server has dropped
// (Node closes idle keep-alive connections after 5 s).
const idleRedial = 2 * time.Second

// pollSlack is added to ioTimeout for a whole exchange: a GET may park
// for a ping interval (a variable for tests).
var pollSlack = 10 * time.Second

// maxBody bounds a response body.
const maxBody = 64 << 20

// HTTPStatusError is a response with a status other than 200.
type HTTPStatusError struct {
	Method string
	Status int
	Body   []byte
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Method, e.Status, e.Body)
}

var (
	errBadResponse = errors.New("malformed HTTP response")
	errConnClosed  = errors.New("polling connection closed by the generator")
)

func (h *httpConn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: ioTimeout}
	nc, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return err
	}
	h.cmu.Lock()
	if h.closed {
		h.cmu.Unlock()
		_ = nc.Close()
		return errConnClosed
	}
	h.nc = nc
	h.cmu.Unlock()
	if h.br == nil {
		h.br = bufio.NewReaderSize(nc, 16<<10)
	} else {
		h.br.Reset(nc)
	}
	return nil
}

func (h *httpConn) drop() {
	h.cmu.Lock()
	if h.nc != nil {
		_ = h.nc.Close()
		h.nc = nil
	}
	h.cmu.Unlock()
}

// closeConn closes the connection, also under a request in flight (a
// parked GET ends with an error), and makes later requests fail.
func (h *httpConn) closeConn() {
	h.cmu.Lock()
	h.closed = true
	if h.nc != nil {
		_ = h.nc.Close()
	}
	h.cmu.Unlock()
}

// do sends one request (a POST when body is not nil) for target (path and
// query) and returns the body of a 200 response; the body is valid until
// the next do.
func (h *httpConn) do(ctx context.Context, method, target string, body []byte) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b := h.wbuf[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, h.addr...)
	if body != nil {
		b = append(b, "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
	}
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	h.wbuf = b

	if h.nc != nil && time.Since(h.used) > idleRedial {
		h.drop()
	}
	for attempt := 0; ; attempt++ {
		reused := h.nc != nil
		if !reused {
			if err := h.dial(ctx); err != nil {
				return nil, err
			}
		}
		out, started, err := h.exchange(method, b)
		if err == nil {
			h.used = time.Now()
			return out, nil
		}
		h.drop()
		var se *HTTPStatusError
		if errors.As(err, &se) {
			return nil, err
		}
		// A reused connection the server closed before answering: the
		// request was not handled; try once on a fresh one.
		if reused && !started && attempt == 0 && staleConnErr(err) {
			continue
		}
		return nil, err
	}
}

func staleConnErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// exchange writes req and reads the response; started reports whether
// any byte of the response arrived. On a nil error the connection is
// left open unless the response asked for a close.
func (h *httpConn) exchange(method string, req []byte) (body []byte, started bool, err error) {
	_ = h.nc.SetDeadline(time.Now().Add(ioTimeout + pollSlack))
	if _, err := h.nc.Write(req); err != nil {
		return nil, false, err
	}
	line, err := h.br.ReadSlice('\n')
	if err != nil {
		return nil, len(line) > 0, err
	}
	// "HTTP/1.x NNN reason"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return nil, true, fmt.Errorf("%w: status line %q", errBadResponse, line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return nil, true, fmt.Errorf("%w: status line %q", errBadResponse, line)
	}
	http10 := line[7] == '0'
	clen, chunked, closing := int64(-1), false, http10
	for {
		l, err := h.br.ReadSlice('\n')
		if err != nil {
			return nil, true, err
		}
		l = bytes.TrimRight(l, "\r\n")
		if len(l) == 0 {
			break
		}
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return nil, true, fmt.Errorf("%w: header %q", errBadResponse, l)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || n > maxBody {
				return nil, true, fmt.Errorf("%w: Content-Length %q", errBadResponse, v)
			}
			clen = n
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = hasToken(v, "chunked")
		case bytes.EqualFold(k, []byte("Connection")):
			if hasToken(v, "close") {
				closing = true
			} else if hasToken(v, "keep-alive") {
				closing = false
			}
		}
	}
	out := h.body[:0]
	switch {
	case status/100 == 1 || status == 204 || status == 304:
	case chunked:
		out, err = h.readChunked(out)
	case clen >= 0:
		out = slices.Grow(out, int(clen))[:clen]
		_, err = io.ReadFull(h.br, out)
	default: // the body ends with the connection
		closing = true
		for err == nil {
			if len(out) > maxBody {
				err = fmt.Errorf("%w: body too long", errBadResponse)
				break
			}
			out = slices.Grow(out, 4096)
			var n int
			n, err = h.br.Read(out[len(out):cap(out)])
			out = out[:len(out)+n]
		}
		if err == io.EOF {
			err = nil
		}
	}
	h.body = out
	if err != nil {
		return nil, true, err
	}
	if closing {
		h.drop()
	}
	if status != 200 {
		return nil, true, &HTTPStatusError{Method: method, Status: status, Body: bytes.Clone(out)}
	}
	return out, true, nil
}

// readChunked appends a chunked body to out, trailers skipped.
func (h *httpConn) readChunked(out []byte) ([]byte, error) {
	for {
		l, err := h.br.ReadSlice('\n')
		if err != nil {
			return out, err
		}
		l = bytes.TrimRight(l, "\r\n")
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i]
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(l)), 16, 63)
		if err != nil || int64(len(out))+int64(n) > maxBody {
			return out, fmt.Errorf("%w: chunk size %q", errBadResponse, l)
		}
		if n == 0 {
			for { // trailers up to the empty line
				l, err := h.br.ReadSlice('\n')
				if err != nil {
					return out, err
				}
				if len(bytes.TrimRight(l, "\r\n")) == 0 {
					return out, nil
				}
			}
		}
		start := len(out)
		out = slices.Grow(out, int(n))[:start+int(n)]
		if _, err := io.ReadFull(h.br, out[start:]); err != nil {
			return out, err
		}
		crlf, err := h.br.ReadSlice('\n')
		if err != nil {
			return out, err
		}
		if len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return out, fmt.Errorf("%w: chunk not ended by CRLF", errBadResponse)
		}
	}
}

// hasToken reports whether the comma-separated header value v holds tok.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte(","))
		if bytes.EqualFold(bytes.TrimSpace(t), []byte(tok)) {
			return true
		}
	}
	return false
}
