package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeRecovery: `siospec serve --fixture sio5 --recovery` offers
// connection state recovery (a pid in the CONNECT reply, which the net
// suite's recovery specs look for); without the flag it does not; the flag
// on a fixture without recovery is a usage error.
func TestServeRecovery(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--fixture", "sio4", "--recovery"}, io.Discard, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--recovery needs --fixture sio5") {
		t.Fatalf("serve --fixture sio4 --recovery: exit %d, stderr %q", code, stderr.String())
	}
	for _, tc := range []struct {
		flags   []string
		wantPID bool
	}{{[]string{"--recovery"}, true}, {nil, false}} {
		connect := serveConnect(t, tc.flags)
		var reply struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if !strings.HasPrefix(connect, "40") || json.Unmarshal([]byte(connect[2:]), &reply) != nil || reply.SID == "" {
			t.Fatalf("serve %v: CONNECT reply %q", tc.flags, connect)
		}
		if (reply.PID != "") != tc.wantPID {
			t.Fatalf("serve %v: CONNECT reply %q, want a pid: %v", tc.flags, connect, tc.wantPID)
		}
	}
}

// serveConnect starts `siospec serve --fixture sio5 flags...` in process,
// connects to "/" over polling and returns the CONNECT reply.
func serveConnect(t *testing.T, flags []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"serve", "--fixture", "sio5", "--addr", "127.0.0.1:0"}, flags...), pw, io.Discard)
		_ = pw.Close()
		done <- code
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("siospec serve did not stop within 10 s of its context's end")
		}
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("siospec serve printed no line")
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base, ok := strings.CutPrefix(sc.Text(), "listening ")
	if !ok {
		t.Fatalf("siospec serve printed %q", sc.Text())
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	do := func(method, query, body string) string {
		req, err := http.NewRequestWithContext(ctx, method, base+"/socket.io/?EIO=4&transport=polling"+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, query, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: HTTP %d %q", method, query, resp.StatusCode, b)
		}
		return string(b)
	}
	open := do(http.MethodGet, "", "")
	var o struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &o) != nil {
		t.Fatalf("open packet %q", open)
	}
	do(http.MethodPost, "&sid="+o.SID, "40")
	for _, pkt := range strings.Split(do(http.MethodGet, "&sid="+o.SID, ""), "\x1e") {
		if strings.HasPrefix(pkt, "40") {
			return pkt
		}
	}
	t.Fatal("no CONNECT reply in the first poll")
	return ""
}
