package socketio

import (
	"errors"
	"strconv"
)

// Sentinel errors carried by *DecodeError and *EncodeError; test for them
// with errors.Is.
var (
	// ErrEmpty: the packet has no bytes at all (SIO-ERR-04).
	ErrEmpty = errors.New("socketio: empty packet")
	// ErrUnknownType: the first byte is not a type digit 0-6 (SIO-ENC-07).
	ErrUnknownType = errors.New("socketio: unknown packet type")
	// ErrAttachments: a malformed attachment header "N-" (SIO-BIN-08), or a
	// count of zero (Errata 3).
	ErrAttachments = errors.New("socketio: illegal attachments")
	// ErrTooManyAttachments: the count exceeds the limit (SIO-BIN-07).
	ErrTooManyAttachments = errors.New("socketio: too many attachments")
	// ErrPlaceholder: a placeholder whose num is not an integer in [0, N)
	// (SIO-BIN-05).
	ErrPlaceholder = errors.New("socketio: illegal placeholder")
	// ErrNamespace: a namespace that does not start with "/", contains ","
	// or is not UTF-8 (SIO-ENC-04).
	ErrNamespace = errors.New("socketio: invalid namespace")
	// ErrAckID: ack id digits followed by junk, or above MaxAckID
	// (SIO-ACK-06, SIO-ENC-11).
	ErrAckID = errors.New("socketio: invalid ack id")
	// ErrInvalidJSON: the payload is not valid JSON (SIO-ENC-06).
	ErrInvalidJSON = errors.New("socketio: invalid JSON payload")
	// ErrPayload: valid JSON of the wrong shape for the packet type
	// (SIO-ENC-09, SIO-EVT-02, SIO-CONN-09, SIO-DISC-02, SIO-ERR-03).
	// ErrEventName and ErrReservedEvent also match ErrPayload.
	ErrPayload = errors.New("socketio: invalid payload")
	// ErrEventName: an event name that is neither a string nor a number
	// (SIO-EVT-04).
	ErrEventName = errors.New("socketio: invalid event name")
	// ErrReservedEvent: a reserved event name such as "disconnect"
	// (SIO-EVT-03).
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrTooLarge: the packet exceeds MaxSize.
	ErrTooLarge = errors.New("socketio: packet too large")
	// ErrUnexpectedText: a text packet arrived while a binary packet was
	// waiting for attachments (SIO-BIN-03).
	ErrUnexpectedText = errors.New("socketio: text packet during binary reassembly")
	// ErrUnexpectedBinary: an attachment arrived with no binary header
	// pending (SIO-BIN-04).
	ErrUnexpectedBinary = errors.New("socketio: binary attachment without a pending header")
	// ErrBinaryNotAllowed: a packet of a non-binary type that carries an
	// attachment count or attachments.
	ErrBinaryNotAllowed = errors.New("socketio: binary data not allowed here")
	// ErrUnsupportedValue: a Go value with no JSON form (func, chan,
	// complex, a cycle).
	ErrUnsupportedValue = errors.New("socketio: unsupported value")
	// ErrIncomplete: a binary packet's attachments are missing.
	ErrIncomplete = errors.New("socketio: binary packet is incomplete")
	// ErrIllegal: a strict encoder was given a packet that only an
	// AllowIllegal encoder may write (unknown type, Raw header overrides).
	ErrIllegal = errors.New("socketio: illegal packet")
)

// DecodeError reports input a decoder rejected: what is wrong (Err, a
// sentinel), why (Reason) and where (Offset, a byte offset into the text
// packet given to the decoder).
type DecodeError struct {
	// Offset is the byte offset of the problem in the text packet.
	Offset int
	// Reason says what was found, in words.
	Reason string
	// Err is one of the package's sentinel errors.
	Err error
}

// Error implements error.
func (e *DecodeError) Error() string {
	s := e.Err.Error() + " at byte " + strconv.Itoa(e.Offset)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns the sentinel.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is makes ErrEventName and ErrReservedEvent also match ErrPayload, the
// umbrella Node's decoder reports them under ("invalid payload").
func (e *DecodeError) Is(target error) bool {
	return target == ErrPayload && (e.Err == ErrEventName || e.Err == ErrReservedEvent)
}

func decodeErr(off int, err error, reason string) *DecodeError {
	return &DecodeError{Offset: off, Reason: reason, Err: err}
}

// EncodeError reports a packet or value a strict encoder refused.
type EncodeError struct {
	// Reason says what is wrong, in words.
	Reason string
	// Err is one of the package's sentinel errors.
	Err error
}

// Error implements error.
func (e *EncodeError) Error() string {
	if e.Reason == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Reason
}

// Unwrap returns the sentinel.
func (e *EncodeError) Unwrap() error { return e.Err }

// Is makes ErrEventName and ErrReservedEvent also match ErrPayload.
func (e *EncodeError) Is(target error) bool {
	return target == ErrPayload && (e.Err == ErrEventName || e.Err == ErrReservedEvent)
}

func encodeErr(err error, reason string) *EncodeError {
	return &EncodeError{Reason: reason, Err: err}
}
