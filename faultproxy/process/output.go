package process

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
)

// Output is a snapshot of what the process wrote, over every run of one
// [Process]. Each stream keeps only its last [Options.OutputLimit] bytes.
type Output struct {
	// Stdout and Stderr are the retained tails of the two streams. The
	// slices are copies owned by the caller.
	Stdout, Stderr []byte
	// StdoutTotal and StderrTotal count every byte written, retained or not.
	StdoutTotal, StderrTotal int64
}

// ring keeps the last limit bytes written to it.
type ring struct {
	mu    sync.Mutex
	limit int
	buf   []byte
	total int64
	tee   io.Writer // optional copy, written under mu
}

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total += int64(len(p))
	if len(p) >= r.limit {
		r.buf = append(r.buf[:0], p[len(p)-r.limit:]...)
	} else {
		if len(r.buf)+len(p) > r.limit {
			// Drop from the front; copy down so the array stays bounded.
			keep := r.limit - len(p)
			n := copy(r.buf, r.buf[len(r.buf)-keep:])
			r.buf = r.buf[:n]
		}
		r.buf = append(r.buf, p...)
	}
	if r.tee != nil {
		_, _ = r.tee.Write(p)
	}
	return len(p), nil
}

// snapshot returns a copy of the retained bytes and the total.
func (r *ring) snapshot() ([]byte, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf), r.total
}

// mark returns the total written so far, to find one run's output later.
func (r *ring) mark() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// since returns the retained bytes written after mark (fewer if dropped).
func (r *ring) since(mark int64) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.total - mark
	if n > int64(len(r.buf)) {
		n = int64(len(r.buf))
	}
	if n < 0 {
		n = 0
	}
	return bytes.Clone(r.buf[int64(len(r.buf))-n:])
}

// lastLines returns up to n of the last non-empty lines of b.
func lastLines(b []byte, n int) []string {
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		l := strings.TrimRight(lines[i], "\r")
		if l == "" {
			continue
		}
		out = append(out, l)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// maxLine bounds how much of one line is kept for the ready regexp; the
// rest of an overlong line is still captured but not matched.
const maxLine = 64 << 10

// pump copies one output pipe into its ring until EOF or until the pipe is
// closed. When re is set, each stdout line is matched until the first match,
// whose capture is sent on found (buffered, capacity 1).
func pump(f *os.File, dst *ring, re *regexp.Regexp, found chan<- string) {
	defer f.Close()
	buf := make([]byte, 32<<10)
	var line []byte
	overlong := false
	for {
		n, err := f.Read(buf)
		chunk := buf[:n]
		if n > 0 {
			_, _ = dst.Write(chunk)
		}
		for re != nil && len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			part := chunk
			if i >= 0 {
				part = chunk[:i]
				chunk = chunk[i+1:]
			} else {
				chunk = nil
			}
			if room := maxLine - len(line); room > 0 {
				if len(part) > room {
					part, overlong = part[:room], true
				}
				line = append(line, part...)
			} else if len(part) > 0 {
				overlong = true
			}
			if i < 0 {
				break
			}
			if !overlong {
				if m := re.FindSubmatch(bytes.TrimRight(line, "\r")); m != nil {
					capture := ""
					if len(m) > 1 {
						capture = string(m[1])
					}
					found <- capture
					re = nil
				}
			}
			line, overlong = line[:0], false
		}
		if err != nil {
			return
		}
	}
}
