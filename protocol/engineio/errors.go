package engineio

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Sentinel errors. Decoders wrap them in a *DecodeError, encoders in an
// *EncodeError; test for them with errors.Is.
var (
	ErrEmptyPacket      = errors.New("engineio: empty packet")
	ErrUnknownType      = errors.New("engineio: unknown packet type")
	ErrBadBase64        = errors.New("engineio: invalid base64")
	ErrBadLength        = errors.New("engineio: invalid length prefix")
	ErrTruncated        = errors.New("engineio: truncated payload")
	ErrEmptyPayload     = errors.New("engineio: empty payload")
	ErrSeparatorInText  = errors.New("engineio: record separator inside a text packet")
	ErrBinaryNotMessage = errors.New("engineio: binary data on a non-message packet")
	ErrBadVersion       = errors.New("engineio: unsupported protocol version")
	ErrBadOpenPacket    = errors.New("engineio: invalid open packet")
	ErrTooLarge         = errors.New("engineio: payload too large")
	ErrBadHTTPError     = errors.New("engineio: invalid error body")
)

// DecodeError reports malformed input: what is wrong (Err, a sentinel, and
// Reason, a human explanation) and where (Offset, in bytes from the start of
// the payload or frame given to the decoder).
type DecodeError struct {
	Offset int
	Reason string
	Err    error
}

func (e *DecodeError) Error() string {
	s := "engineio: decode error at offset " + strconv.Itoa(e.Offset)
	if e.Reason != "" {
		s += ": " + e.Reason
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the sentinel error.
func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErr(off int, err error, reason string) error {
	return &DecodeError{Offset: off, Reason: reason, Err: err}
}

// EncodeError reports a packet or payload that the strict encoder refuses
// to write.
type EncodeError struct {
	// Packet is the offending packet; it is zero for ErrTooLarge.
	Packet Packet
	Err    error
	// Size and Limit are set for ErrTooLarge: the size in bytes the payload
	// would have had and the Encoder's MaxPayload.
	Size  int
	Limit int64
}

func (e *EncodeError) Error() string {
	if errors.Is(e.Err, ErrTooLarge) {
		return "engineio: cannot encode payload of " + strconv.Itoa(e.Size) + " bytes: limit is " + strconv.FormatInt(e.Limit, 10)
	}
	return "engineio: cannot encode " + e.Packet.Type.String() + " packet: " + e.Err.Error()
}

// Unwrap returns the sentinel error.
func (e *EncodeError) Unwrap() error { return e.Err }

// ErrorCode is the code of an Engine.IO HTTP error body (EIO-ERR-01).
type ErrorCode int

// Error codes, with Node's standard messages.
const (
	CodeTransportUnknown           ErrorCode = 0 // Transport unknown
	CodeUnknownSID                 ErrorCode = 1 // Session ID unknown
	CodeBadHandshakeMethod         ErrorCode = 2 // Bad handshake method
	CodeBadRequest                 ErrorCode = 3 // Bad request
	CodeForbidden                  ErrorCode = 4 // Forbidden
	CodeUnsupportedProtocolVersion ErrorCode = 5 // Unsupported protocol version
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// Message returns Node's standard message for c.
func (c ErrorCode) Message() string {
	if c >= 0 && int(c) < len(codeMessages) {
		return codeMessages[c]
	}
	return "Unknown error " + strconv.Itoa(int(c))
}

// String returns the message of c.
func (c ErrorCode) String() string { return c.Message() }

// HTTPStatus returns the status Node answers a polling request with for c:
// 403 for Forbidden, 400 for every other code (EIO-ERR-02).
func (c ErrorCode) HTTPStatus() int {
	if c == CodeForbidden {
		return 403
	}
	return 400
}

// HTTPError is the JSON body of an Engine.IO error response,
// {"code":N,"message":"..."}.
type HTTPError struct {
	Code    ErrorCode
	Message string
}

// NewHTTPError returns the error for code with Node's standard message.
func NewHTTPError(code ErrorCode) *HTTPError {
	return &HTTPError{Code: code, Message: code.Message()}
}

func (e *HTTPError) Error() string {
	return "engineio: error " + strconv.Itoa(int(e.Code)) + ": " + e.Message
}

// Status returns the HTTP status that carries e.
func (e *HTTPError) Status() int { return e.Code.HTTPStatus() }

// AppendJSON appends the response body of e, exactly as Node writes it.
func (e *HTTPError) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(e.Code), 10)
	dst = append(dst, `,"message":`...)
	dst = appendJSONString(dst, e.Message)
	return append(dst, '}')
}

// Is reports whether target is an *HTTPError with the same code, so that
// errors.Is(err, NewHTTPError(CodeUnknownSID)) works.
func (e *HTTPError) Is(target error) bool {
	var t *HTTPError
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// ParseHTTPError decodes the JSON body of an Engine.IO error response,
// {"code":N,"message":"..."} (EIO-ERR-02). Both keys are required; other
// keys are ignored. The code is not checked against the known codes, so a
// server's non-standard code is reported as it is. Malformed bodies give a
// *DecodeError wrapping ErrBadHTTPError.
func ParseHTTPError(body []byte) (*HTTPError, error) {
	var v struct {
		Code    *json.Number `json:"code"`
		Message *string      `json:"message"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, decodeErr(0, ErrBadHTTPError, "error body is not a JSON object: "+err.Error())
	}
	if v.Code == nil || v.Message == nil {
		return nil, decodeErr(0, ErrBadHTTPError, "error body lacks code or message")
	}
	code, err := strconv.ParseInt(string(*v.Code), 10, 32)
	if err != nil {
		return nil, decodeErr(0, ErrBadHTTPError, "code "+string(*v.Code)+" is not an integer")
	}
	return &HTTPError{Code: ErrorCode(code), Message: *v.Message}, nil
}
