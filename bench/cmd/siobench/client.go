package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// ioTimeout bounds every single read, write and request of the generator
// (a variable for tests).
var ioTimeout = 20 * time.Second

// frame is one Engine.IO message as the generator sees it, whatever the
// transport: polling's "b<base64>" arrives as binary.
type frame struct {
	binary bool
	data   []byte
}

// msgKind is what an echo workload sends and what completes one echo.
type msgKind struct {
	name string
	// frames for the protocol: eio (Engine.IO packets; for raw gorilla the
	// same bytes), sio.
	frames func(proto string) []frame
	// done reports whether f completes one echo.
	done func(proto string, f frame) bool
}

var (
	sioText = []byte(`42["echo","hello"]`)
	eioText = []byte("4hello")
	bin4KB  = bytes.Repeat([]byte{0xAB, 0x01, 0x00, 0x7F}, 1024)

	smallText = msgKind{
		name: "text",
		frames: func(proto string) []frame {
			if proto == "sio" {
				return []frame{{data: sioText}}
			}
			return []frame{{data: eioText}}
		},
		// The echo must come back byte for byte.
		done: func(proto string, f frame) bool {
			if proto == "sio" {
				return !f.binary && bytes.Equal(f.data, sioText)
			}
			return !f.binary && bytes.Equal(f.data, eioText)
		},
	}
	bin4K = msgKind{
		name: "bin4k",
		frames: func(proto string) []frame {
			if proto == "sio" {
				return []frame{{data: []byte(`451-["echo",{"_placeholder":true,"num":0}]`)}, {binary: true, data: bin4KB}}
			}
			return []frame{{binary: true, data: bin4KB}}
		},
		done: func(_ string, f frame) bool { return f.binary && bytes.Equal(f.data, bin4KB) },
	}
)

// conn is one generator session over either transport.
type conn interface {
	// send writes frames (polling: one POST).
	send(fs []frame) error
	// recv returns the next frames (WebSocket: one; polling: one GET).
	// Pings are answered inside.
	recv() ([]frame, error)
	close()
}

// pollConn is a polling session; send and recv may run concurrently
// (a parked GET and a POST), each on its own connection.
type pollConn struct {
	hc  *http.Client
	url string
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: ioTimeout + 10*time.Second,
		Transport: &http.Transport{
			DisableCompression:  true,
			MaxIdleConnsPerHost: 4,
			DialContext:         (&net.Dialer{Timeout: ioTimeout}).DialContext,
		},
	}
}

func dialPolling(ctx context.Context, addr string, im impl) (*pollConn, error) {
	p := &pollConn{hc: newHTTPClient()}
	body, err := p.do(ctx, http.MethodGet, "http://"+addr+im.path()+"?EIO=4&transport=polling", nil)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 || body[0] != '0' {
		return nil, fmt.Errorf("handshake: %q", body)
	}
	op, err := engineio.ParseOpen(body[1:])
	if err != nil {
		return nil, err
	}
	p.url = "http://" + addr + im.path() + "?EIO=4&transport=polling&sid=" + op.SID
	if im.proto == "sio" {
		if err := p.send([]frame{{data: []byte("40")}}); err != nil {
			return nil, err
		}
		for {
			fs, err := p.recv()
			if err != nil {
				return nil, err
			}
			for _, f := range fs {
				if !f.binary && bytes.HasPrefix(f.data, []byte("40")) {
					return p, nil
				}
			}
		}
	}
	return p, nil
}

func (p *pollConn) do(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	r, err := p.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if r.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", method, r.StatusCode, b)
	}
	return b, nil
}

func (p *pollConn) send(fs []frame) error {
	var b []byte
	for i, f := range fs {
		if i > 0 {
			b = append(b, 0x1e)
		}
		if f.binary {
			b = append(b, 'b')
			b = base64.StdEncoding.AppendEncode(b, f.data)
		} else {
			b = append(b, f.data...)
		}
	}
	_, err := p.do(context.Background(), http.MethodPost, p.url, b)
	return err
}

func (p *pollConn) recv() ([]frame, error) {
	for {
		b, err := p.do(context.Background(), http.MethodGet, p.url, nil)
		if err != nil {
			return nil, err
		}
		var out []frame
		pong := false
		for _, s := range strings.Split(string(b), "\x1e") {
			switch {
			case s == "2":
				pong = true
			case s == "6" || s == "":
			case s == "1":
				return nil, errors.New("session closed")
			case s[0] == 'b':
				d, err := base64.StdEncoding.DecodeString(s[1:])
				if err != nil {
					return nil, err
				}
				out = append(out, frame{binary: true, data: d})
			default:
				out = append(out, frame{data: []byte(s)})
			}
		}
		if pong {
			if err := p.send([]frame{{data: []byte("3")}}); err != nil {
				return nil, err
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

func (p *pollConn) close() {
	_ = p.send([]frame{{data: []byte("1")}})
	p.hc.CloseIdleConnections()
}
