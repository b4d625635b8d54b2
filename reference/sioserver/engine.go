package sioserver

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// engineSession is the part of an Engine.IO session the Socket.IO layer
// uses (*eioserver.Session satisfies it through sessionAdapter); unit tests
// substitute a fake.
type engineSession interface {
	ID() string
	Protocol() engineio.Version
	Transport() string
	Request() *http.Request
	OnMessage(func(engineio.Packet))
	OnClose(func(reason string, err error))
	Send(pkts ...engineio.Packet) error
	Close(reason string)
}

// writableSession is implemented by engine sessions that can tell whether
// a write would be handed to the transport at once; volatile packets are
// dropped when it reports false (NODE-VOL-01).
type writableSession interface {
	Writable() bool
}

// abortableSession is implemented by engine sessions that can be closed
// at once, their send queue discarded (eioserver Session.Abort); a client
// whose queue overflowed is cut off that way so that its memory is
// released without waiting for a stalled peer.
type abortableSession interface {
	Abort(reason string)
}

// clock is the timer source (eioserver.Clock's method set).
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) stopper {
	return time.AfterFunc(d, f)
}

// config is the resolved, defaulted configuration the core uses.
type config struct {
	connectTimeout time.Duration
	recovery       *RecoveryOptions
	maxAttachments int
	newAdapter     func(AdapterHost) Adapter
	clock          clock
	logger         *slog.Logger
	onProtocolErr  func(error)
}

// newID returns a 20-character random URL-safe id, the shape of Node's
// base64id (socket ids, private session ids).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// frames turns an encoded Socket.IO packet into the Engine.IO messages that
// carry it: the text packet, then one binary message per attachment
// (SIO-ENC-01). The slices are shared by every recipient and never modified.
func frames(enc socketio.Encoder, p socketio.Packet) ([]engineio.Packet, error) {
	text, err := enc.AppendPacket(nil, p)
	if err != nil {
		return nil, err
	}
	return eventFrames(text, p.Binary), nil
}

// eventFrames wraps an encoded text packet and its attachments in
// Engine.IO messages, as frames does.
func eventFrames(text []byte, bins [][]byte) []engineio.Packet {
	out := make([]engineio.Packet, 1, 1+len(bins))
	out[0] = engineio.Packet{Type: engineio.Message, Data: text}
	for _, b := range bins {
		out = append(out, engineio.BinaryMessage(b))
	}
	return out
}
