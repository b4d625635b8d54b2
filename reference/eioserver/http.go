package eioserver

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// lastValue returns the last value of key in q, as Node's
// Object.fromEntries(searchParams) keeps the last occurrence.
func lastValue(q url.Values, key string) (string, bool) {
	vs, ok := q[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// protocolOf returns the protocol revision a request asks for: only the
// literal EIO=4 is v4, anything else (a missing EIO included) is v3
// (EIO-URL-03).
func protocolOf(q url.Values) engineio.Version {
	if v, _ := lastValue(q, "EIO"); v == "4" {
		return engineio.V4
	}
	return engineio.V3
}

// writeError answers a polling request with Node's JSON error body
// (EIO-ERR-02): 403 for code 4, 400 otherwise.
func writeError(w http.ResponseWriter, e *engineio.HTTPError) {
	body := e.AppendJSON(nil)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status())
	_, _ = w.Write(body)
}

// writeEmpty answers with a status and no body (EIO-ERR-05).
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// abortUpgrade rejects a WebSocket upgrade before the 101 the way Node does
// (EIO-ERR-04, EIO-WS-10): a raw "HTTP/1.1 400 Bad Request" with
// Connection: close, a text/html body carrying the message, then the
// connection is destroyed.
func abortUpgrade(w http.ResponseWriter, msg string) {
	raw := "HTTP/1.1 400 Bad Request\r\n" +
		"Connection: close\r\n" +
		"Content-type: text/html\r\n" +
		"Content-Length: " + strconv.Itoa(len(msg)) + "\r\n" +
		"\r\n" + msg
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write([]byte(raw))
		_ = conn.Close()
		return
	}
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(msg))
}

// validHeaderValue reports whether v has only the characters Node's
// checkInvalidHeaderChar accepts: tab, 0x20-0x7E and 0x80-0xFF
// (EIO-CORS-04).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\t' || (c >= 0x20 && c != 0x7f) {
			continue
		}
		return false
	}
	return true
}

// addVary appends a field to the Vary header unless it is already listed.
func addVary(h http.Header, field string) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, field) {
				return
			}
		}
	}
	if cur := h.Get("Vary"); cur != "" {
		h.Set("Vary", cur+", "+field)
		return
	}
	h.Set("Vary", field)
}

// applyCORS sets the CORS headers Node's cors middleware sets and reports
// whether the request was a preflight it answered (204) itself.
func applyCORS(c *CORSOptions, h http.Header, r *http.Request, preflightAllowed bool) bool {
	origin := r.Header.Get("Origin")
	switch {
	case c.ReflectOrigin:
		if origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		addVary(h, "Origin")
	case len(c.Origins) == 0 || (len(c.Origins) == 1 && c.Origins[0] == "*"):
		h.Set("Access-Control-Allow-Origin", "*")
	case len(c.Origins) == 1:
		h.Set("Access-Control-Allow-Origin", c.Origins[0])
		addVary(h, "Origin")
	default:
		for _, o := range c.Origins {
			if o == origin && origin != "" {
				h.Set("Access-Control-Allow-Origin", origin)
				break
			}
		}
		addVary(h, "Origin")
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	preflight := preflightAllowed && r.Method == http.MethodOptions
	if preflight {
		h.Set("Access-Control-Allow-Methods", strings.Join(c.Methods, ","))
		if len(c.AllowedHeaders) == 0 {
			addVary(h, "Access-Control-Request-Headers")
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				h.Set("Access-Control-Allow-Headers", rh)
			}
		} else {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowedHeaders, ","))
		}
		if c.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.FormatInt(int64(c.MaxAge/time.Second), 10))
		}
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
	return preflight
}

// negotiateEncoding picks gzip or deflate from an Accept-Encoding header as
// the Node accepts module does for ["gzip","deflate"]: the acceptable one
// with the highest q, gzip on a tie; "" when neither is acceptable.
func negotiateEncoding(header string) string {
	if header == "" {
		return ""
	}
	q := map[string]float64{}
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(part, ";")
		name := strings.ToLower(strings.TrimSpace(fields[0]))
		if name == "" {
			continue
		}
		weight := 1.0
		for _, f := range fields[1:] {
			f = strings.TrimSpace(f)
			if v, ok := strings.CutPrefix(f, "q="); ok {
				if p, err := strconv.ParseFloat(v, 64); err == nil {
					weight = p
				}
			}
		}
		if old, ok := q[name]; !ok || weight > old {
			q[name] = weight
		}
	}
	weight := func(name string) float64 {
		if w, ok := q[name]; ok {
			return w
		}
		if w, ok := q["*"]; ok {
			return w
		}
		return 0
	}
	g, d := weight("gzip"), weight("deflate")
	switch {
	case g <= 0 && d <= 0:
		return ""
	case d > g:
		return "deflate"
	default:
		return "gzip"
	}
}

// compress encodes body with gzip or zlib-wrapped deflate (what Node's
// zlib.createDeflate writes and HTTP calls "deflate").
func compress(encoding string, body []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch encoding {
	case "gzip":
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	default:
		zw := zlib.NewWriter(&buf)
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
