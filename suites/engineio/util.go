package engineio

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/url"
	"strconv"
)

// gunzip decompresses b, returning "" on error.
func gunzip(b []byte) string {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return ""
	}
	return string(out)
}

func itoa(n int) string { return strconv.Itoa(n) }

func parseQuery(q string) (url.Values, error) { return url.ParseQuery(q) }
