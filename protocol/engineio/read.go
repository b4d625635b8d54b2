package engineio

import (
	"errors"
	"io"
	"math"
	"strconv"
)

// DefaultMaxPayload is the limit ReadPayload applies when it is given none:
// 1e6 bytes, Node's default maxHttpBufferSize (EIO-LIMIT-01).
const DefaultMaxPayload = 1_000_000

// maxEmptyReads bounds how often ReadPayload retries a reader that returns
// neither data nor an error.
const maxEmptyReads = 100

// ReadPayload reads a whole polling payload of protocol v from r and
// decodes it like [DecodePayload], calling fn for each packet in order. For
// v3, binary selects the XHR2 binary format (a body sent with Content-Type
// application/octet-stream).
//
// The body may be at most limit bytes (DefaultMaxPayload when limit is not
// positive). ReadPayload never buffers more than limit bytes and reads at
// most limit+1 bytes from r: the one extra byte is what tells a body of
// exactly limit bytes from a longer one, which is reported as a *DecodeError
// wrapping ErrTooLarge at offset limit, before any packet is decoded (a
// server answers 413, EIO-LIMIT-02). A read error other than io.EOF is
// returned wrapped, also before any packet is decoded: a body cut short is
// never half processed (EIO-POLL-10).
//
// The Data of every packet points into a buffer that ReadPayload allocates
// for this call and never reuses, so callers may keep packets.
func ReadPayload(r io.Reader, limit int64, v Version, binary bool, fn func(Packet) error) error {
	if !v.Valid() {
		return decodeErr(0, ErrBadVersion, "protocol version "+v.String())
	}
	b, err := readBounded(r, limit)
	if err != nil {
		return err
	}
	switch {
	case v == V4:
		return ParsePayload(b, fn)
	case binary:
		return ParseBinaryPayloadV3(b, fn)
	default:
		return ParsePayloadV3(b, fn)
	}
}

// readBounded reads r to the end, failing with ErrTooLarge once more than
// limit bytes arrive.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxPayload
	}
	if limit > math.MaxInt32 {
		limit = math.MaxInt32 // keeps limit+1 and offsets within int
	}
	capacity := int64(512)
	if limit+1 < capacity {
		capacity = limit + 1
	}
	buf := make([]byte, 0, capacity)
	empty := 0
	for {
		if len(buf) == cap(buf) {
			next := 2 * int64(cap(buf))
			if next > limit+1 {
				next = limit + 1
			}
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, decodeErr(int(limit), ErrTooLarge, "payload longer than "+strconv.FormatInt(limit, 10)+" bytes")
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, &ReadError{Offset: len(buf), Err: err}
		}
		if n == 0 {
			if empty++; empty >= maxEmptyReads {
				return nil, &ReadError{Offset: len(buf), Err: io.ErrNoProgress}
			}
		} else {
			empty = 0
		}
	}
}

// ReadError reports that reading a payload failed after Offset bytes; Err
// is the reader's error.
type ReadError struct {
	Offset int
	Err    error
}

func (e *ReadError) Error() string {
	return "engineio: read payload after " + strconv.Itoa(e.Offset) + " bytes: " + e.Err.Error()
}

// Unwrap returns the reader's error.
func (e *ReadError) Unwrap() error { return e.Err }
