package testee

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// keep retains the head and the tail of a stream within a byte budget and
// counts the rest. It is not safe for concurrent use; Testee guards it.
type keep struct {
	headCap, tailCap int
	head             []byte
	tail             []byte // up to 2*tailCap before it is trimmed to tailCap
	total            int64
}

func newKeep(limit int) keep {
	tail := limit / 4
	return keep{headCap: limit - tail, tailCap: tail}
}

func (k *keep) write(p []byte) {
	k.total += int64(len(p))
	if n := min(k.headCap-len(k.head), len(p)); n > 0 {
		k.head = append(k.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 || k.tailCap == 0 {
		return
	}
	if len(p) >= k.tailCap {
		k.tail = append(k.tail[:0], p[len(p)-k.tailCap:]...)
		return
	}
	if len(k.tail)+len(p) > 2*k.tailCap {
		n := copy(k.tail, k.tail[len(k.tail)-(k.tailCap-len(p)):])
		k.tail = k.tail[:n]
	}
	k.tail = append(k.tail, p...)
}

// text returns the kept bytes (with a marker where bytes were dropped) and
// the number of bytes dropped.
func (k *keep) text() (string, int64) {
	tail := k.tail
	if len(tail) > k.tailCap {
		tail = tail[len(tail)-k.tailCap:]
	}
	dropped := k.total - int64(len(k.head)) - int64(len(tail))
	if dropped == 0 {
		return string(k.head) + string(tail), 0
	}
	return fmt.Sprintf("%s\n[siospec: %d bytes dropped]\n%s", k.head, dropped, tail), dropped
}

// lastLines returns up to n of the last non-empty lines of s, at most max
// bytes.
func lastLines(s string, n, max int) string {
	lines := strings.Split(strings.TrimRight(s, "\r\n"), "\n")
	var out []string
	size := 0
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		l := strings.TrimRight(lines[i], "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		if size+len(l) > max {
			if len(out) == 0 {
				out = append(out, l[len(l)-max:])
			}
			break
		}
		size += len(l) + 1
		out = append(out, l)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return strings.Join(out, "\n")
}

// pump reads r to its end (or a read error), hands every chunk read to
// sink and, when line is not nil, every line without its end of line (a
// last line without one included) to line, with cut set when the line was
// longer than MaxLine and only its first MaxLine bytes are given.
func pump(r io.Reader, sink func([]byte), line func(b []byte, cut bool)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var cur []byte
	cut := false
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			sink(chunk)
			if line != nil {
				body, complete := chunk, false
				if err == nil {
					body, complete = chunk[:len(chunk)-1], true
				}
				if !cut {
					if room := MaxLine - len(cur); len(body) > room {
						cur = append(cur, body[:room]...)
						cut = true
					} else {
						cur = append(cur, body...)
					}
				}
				if complete {
					line(bytes.TrimSuffix(cur, []byte("\r")), cut)
					cur, cut = cur[:0], false
				}
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if line != nil && (len(cur) > 0 || cut) {
				line(cur, cut)
			}
			return
		}
	}
}
