// Package engineio encodes and decodes Engine.IO packets and payloads for
// protocol revisions 3 and 4.
//
// It implements the framing rules of the Engine.IO protocol documents: the
// packet model (a type digit plus optional data), the WebSocket convention of
// one packet per message, the HTTP long-polling payload formats (v4: packets
// joined by the record separator 0x1E, binary as "b" + base64; v3: length
// prefixed "N:packet" text payloads counted in UTF-16 code units, "b4" +
// base64 binary packets, and the XHR2 binary payload with its 0/1 marker,
// decimal length digits and 0xFF), the open packet, and the HTTP error codes.
// Requirement IDs such as EIO-POLL-02 refer to siospec's requirements
// catalogue.
//
// # Strictness
//
// Every encoder and decoder is strict by default: it refuses to write a
// packet the protocol forbids and reports malformed input as a *DecodeError
// carrying the byte offset and a sentinel error (ErrUnknownType,
// ErrBadBase64, ErrBadLength, ...) for errors.Is. An [Encoder] with
// AllowIllegal set writes such packets on purpose, for conformance specs and
// the fault proxy; [AppendRawPayload] and [AppendRawPayloadV3] join
// arbitrary segments without any check.
//
// # Memory
//
// Encoders append to a caller's buffer and return the extended slice.
// Decoders never read beyond the payload they are given. The Data of a
// decoded text packet aliases the input; binary data decoded from base64 is
// freshly allocated. Callers that keep a packet beyond the life of the input
// buffer must copy Data.
//
// # Concurrency
//
// Functions are safe for concurrent use; an Encoder is a plain value with no
// internal state.
package engineio
