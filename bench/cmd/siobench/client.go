package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
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
// (a parked GET and a POST), each on its own persistent connection.
// Frames returned by recv alias its buffers until the next recv.
type pollConn struct {
	get, post httpConn
	target    string     // path and query with the sid
	smu       sync.Mutex // guards sbuf
	sbuf      []byte     // POST body being built
	dbuf      []byte     // decoded binary frames
	out       []frame
}

func dialPolling(ctx context.Context, addr string, im impl) (*pollConn, error) {
	p := &pollConn{get: httpConn{addr: addr}, post: httpConn{addr: addr}}
	body, err := p.get.do(ctx, "GET", im.path()+"?EIO=4&transport=polling", nil)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 || body[0] != '0' {
		p.get.closeConn()
		return nil, fmt.Errorf("handshake: %q", body)
	}
	op, err := engineio.ParseOpen(body[1:])
	if err != nil {
		p.get.closeConn()
		return nil, err
	}
	p.target = im.path() + "?EIO=4&transport=polling&sid=" + op.SID
	if im.proto == "sio" {
		if err := p.send([]frame{{data: []byte("40")}}); err != nil {
			p.closeConns()
			return nil, err
		}
		for {
			fs, err := p.recv()
			if err != nil {
				p.closeConns()
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

// appendPayload appends fs as one polling payload.
func appendPayload(b []byte, fs []frame) []byte {
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
	return b
}

func (p *pollConn) send(fs []frame) error {
	p.smu.Lock()
	defer p.smu.Unlock()
	p.sbuf = appendPayload(p.sbuf[:0], fs)
	return p.postBody(p.sbuf)
}

// postBody posts b; the POST connection's lock serialises POSTs (a pong
// from recv and a send).
func (p *pollConn) postBody(b []byte) error {
	_, err := p.post.do(context.Background(), "POST", p.target, b)
	return err
}

var pongPayload = []byte("3")

func (p *pollConn) recv() ([]frame, error) {
	for {
		b, err := p.get.do(context.Background(), "GET", p.target, nil)
		if err != nil {
			return nil, err
		}
		out := p.out[:0]
		p.dbuf = p.dbuf[:0]
		pong := false
		// Decoded binary frames go to dbuf; it is sized first so that
		// appending never moves frames already returned.
		need := 0
		for s := range bytes.SplitSeq(b, []byte{0x1e}) {
			if len(s) > 0 && s[0] == 'b' {
				need += base64.StdEncoding.DecodedLen(len(s) - 1)
			}
		}
		p.dbuf = slices.Grow(p.dbuf, need)
		for s := range bytes.SplitSeq(b, []byte{0x1e}) {
			switch {
			case len(s) == 1 && s[0] == '2':
				pong = true
			case len(s) == 0 || len(s) == 1 && s[0] == '6':
			case len(s) == 1 && s[0] == '1':
				return nil, errors.New("session closed")
			case s[0] == 'b':
				start := len(p.dbuf)
				d, err := base64.StdEncoding.AppendDecode(p.dbuf, s[1:])
				if err != nil {
					return nil, err
				}
				p.dbuf = d
				out = append(out, frame{binary: true, data: d[start:len(d):len(d)]})
			default:
				out = append(out, frame{data: s[:len(s):len(s)]})
			}
		}
		p.out = out
		if pong {
			if err := p.postBody(pongPayload); err != nil {
				return nil, err
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

func (p *pollConn) closeConns() {
	p.get.closeConn()
	p.post.closeConn()
}

func (p *pollConn) close() {
	_ = p.send([]frame{{data: []byte("1")}})
	p.closeConns()
}
