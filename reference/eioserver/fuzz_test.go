package eioserver

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// FuzzServeHTTP drives the handler with arbitrary requests against a live
// session (the query may name it with the placeholder SID) and checks that
// nothing panics and that Close leaves no session and no goroutine behind.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct {
		method byte
		query  string
		ctype  byte
		body   []byte
	}{
		{0, "EIO=4&transport=polling", 0, nil},
		{1, "EIO=4&transport=polling&sid=SID", 0, []byte("4hello\x1ebAQIDBA==")},
		{1, "EIO=4&transport=polling&sid=SID", 0, []byte("abc")},
		{1, "EIO=4&transport=polling&sid=SID", 1, []byte{1, 2, 3}},
		{0, "EIO=4&transport=polling&sid=SID", 0, nil},
		{1, "EIO=4&transport=polling&sid=SID", 0, []byte("1")},
		{1, "EIO=4&transport=polling&sid=SID", 0, []byte("2\x1e3\x1e5\x1e6\x1e0")},
		{0, "EIO=3&transport=polling&b64=1", 0, nil},
		{1, "EIO=3&transport=polling&sid=SID3", 0, []byte("6:4hello10:b4AQIDBA==")},
		{1, "EIO=3&transport=polling&sid=SID3", 1, []byte{0, 6, 0xff, '4', 'h', 'e', 'l', 'l', 'o'}},
		{2, "EIO=4&transport=polling&sid=SID", 0, nil},
		{3, "EIO=4&transport=websocket", 0, nil},
		{0, "transport=polling&EIO=4&EIO=3&sid=&j=0", 0, nil},
	}
	for _, s := range seeds {
		f.Add(s.method, s.query, s.ctype, s.body)
	}
	methods := []string{"GET", "POST", "PUT", "OPTIONS", "HEAD", "DELETE"}
	f.Fuzz(func(t *testing.T, method byte, query string, ctype byte, body []byte) {
		clock := newFakeClock()
		srv := NewServer(&Options{
			Clock: clock, AllowEIO3: true, MaxHTTPBufferSize: 4096,
			CORS: &CORSOptions{}, OnSession: echo,
		})
		serve := func(m, q string, ct string, b []byte) *httptest.ResponseRecorder {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, m, "/engine.io/", bytes.NewReader(b))
			req.URL.RawQuery = q
			req.RequestURI = "/engine.io/?" + q
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			return rec
		}
		sid := func(q string) string {
			rec := serve("GET", q, "", nil)
			b := rec.Body.Bytes()
			if strings.HasPrefix(q, "EIO=3") {
				pkts, err := engineio.DecodePayload(engineio.V3, false, b)
				if err != nil || len(pkts) == 0 {
					t.Fatalf("v3 handshake %q: %v", b, err)
				}
				b = pkts[0].Data
			} else {
				b = b[1:]
			}
			op, err := engineio.ParseOpen(b)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			return op.SID
		}
		s4, s3 := sid("EIO=4&transport=polling"), sid("EIO=3&transport=polling&b64=1")
		if len(query) > 2048 {
			query = query[:2048]
		}
		q := strings.ReplaceAll(strings.ReplaceAll(query, "SID3", s3), "SID", s4)
		ct := ""
		switch ctype % 3 {
		case 1:
			ct = "application/octet-stream"
		case 2:
			ct = "text/plain;charset=UTF-8"
		}
		m := methods[int(method)%len(methods)]
		for i := 0; i < 2; i++ {
			rec := serve(m, q, ct, body)
			if rec.Code == 0 {
				t.Fatal("no status")
			}
		}
		clock.Advance(time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n := srv.SessionCount(); n != 0 {
			t.Fatalf("%d sessions after Close", n)
		}
	})
}
