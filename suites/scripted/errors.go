package scripted

import (
	"errors"
	"fmt"
)

// ErrSessionClosed is returned by Recv after the session ended (wrapped in
// a *SessionClosedError carrying the reason), and by Send on an ended
// session.
var ErrSessionClosed error = errors.New("scripted: session closed")

// ErrServerClosed is returned by NextSession and Restart after Close.
var ErrServerClosed = errors.New("scripted: server closed")

// SessionClosedError says which session ended and why. It matches
// ErrSessionClosed with errors.Is.
type SessionClosedError struct {
	SID    string
	Reason string
}

func (e *SessionClosedError) Error() string {
	return fmt.Sprintf("scripted: session %s closed: %s", e.SID, e.Reason)
}

// Is makes errors.Is(err, ErrSessionClosed) true.
func (e *SessionClosedError) Is(target error) bool { return target == ErrSessionClosed }

// CommandError is returned by SIO.Command when the testee acknowledged the
// command with {"ok":false,...}, or with something that is not {"ok":true}.
type CommandError struct {
	Cmd     map[string]any
	Message string
	// Ack is the raw JSON payload of the ack.
	Ack []byte
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("scripted: command %v failed: %s (ack %s)", e.Cmd["cmd"], e.Message, e.Ack)
}

// errStop ends a payload walk early (the session ended meanwhile).
var errStop = errors.New("scripted: stop")
