package eioserver

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBodyAsReadAll checks that readBody returns what io.ReadAll of
// limit+1 bytes did, whatever the declared size, for readers that return
// one byte at a time or the data with io.EOF.
func TestReadBodyAsReadAll(t *testing.T) {
	const limit = 1000
	for _, n := range []int{0, 1, 511, 512, 513, 999, 1000, 1001, 5000} {
		data := strings.Repeat("x", n)
		for _, size := range []int64{-1, 0, int64(n), int64(n) - 1, int64(n) + 1, limit + 10} {
			for name, mk := range map[string]func() io.Reader{
				"plain":   func() io.Reader { return strings.NewReader(data) },
				"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(data)) },
				"dataeof": func() io.Reader { return iotest.DataErrReader(strings.NewReader(data)) },
			} {
				got, err := readBody(mk(), limit, size)
				if n > limit {
					if !errors.Is(err, errTooLarge) {
						t.Errorf("%s n=%d size=%d: err %v, want errTooLarge", name, n, size, err)
					}
					continue
				}
				if err != nil || !bytes.Equal(got, []byte(data)) {
					t.Errorf("%s n=%d size=%d: %d bytes, err %v", name, n, size, len(got), err)
				}
			}
		}
	}
	boom := errors.New("boom")
	if _, err := readBody(io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(boom)), limit, 10); !errors.Is(err, boom) {
		t.Errorf("read error: %v, want boom", err)
	}
}
