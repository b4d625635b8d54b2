package scripted

import (
	"errors"
	"fmt"
	"time"

	"github.com/gorilla/websocket"
)

// ErrNoWebSocket is returned by ControlPing and ControlPong when the
// session's transport is not (yet) a WebSocket.
var ErrNoWebSocket = errors.New("scripted: the session has no WebSocket transport")

// ControlPing writes a WebSocket ping control frame carrying data (at most
// 125 bytes) on the session's WebSocket transport and records it. It is
// not an Engine.IO ping: the heartbeat goes on (or stays stopped) as
// before. The client's control pongs are recorded as they arrive.
func (ss *Session) ControlPing(data []byte) error {
	return ss.control(websocket.PingMessage, "ping", data)
}

// ControlPong writes an unsolicited WebSocket pong control frame carrying
// data (at most 125 bytes) on the session's WebSocket transport and
// records it. It is not an Engine.IO pong.
func (ss *Session) ControlPong(data []byte) error {
	return ss.control(websocket.PongMessage, "pong", data)
}

func (ss *Session) control(mt int, what string, data []byte) error {
	s := ss.s
	s.mu.Lock()
	w := ss.ws
	ended, reason := ss.ended, ss.reason
	s.mu.Unlock()
	if ended {
		return &SessionClosedError{SID: ss.id, Reason: reason}
	}
	if w == nil {
		return ErrNoWebSocket
	}
	// gorilla/websocket allows WriteControl concurrently with the writer.
	if err := w.c.WriteControl(mt, data, time.Now().Add(wsWriteTimeout)); err != nil {
		return fmt.Errorf("scripted: control %s on %s: %w", what, ss.id, err)
	}
	s.rec.Add(w.id, dirS2C, kindWSControl, fmt.Sprintf("%s control frame %dB", what, len(data)), data)
	return nil
}

// recordPongs records the client's control pongs on w (set before its
// read loop starts; gorilla calls the handler from the read loop).
func (w *wsConn) recordPongs() {
	rec := w.ss.s.rec
	w.c.SetPongHandler(func(data string) error {
		rec.Add(w.id, dirC2S, kindWSControl, fmt.Sprintf("pong control frame %dB", len(data)), []byte(data))
		return nil
	})
}
