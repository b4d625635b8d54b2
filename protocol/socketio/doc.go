// Package socketio encodes and decodes Socket.IO packets for protocol
// revisions 5 (socket.io 3.x/4.x, the default) and 4 (socket.io 1.x/2.x).
//
// A Socket.IO packet travels as the payload of one Engine.IO message; a
// BINARY_EVENT or BINARY_ACK is followed by its attachments, one Engine.IO
// binary message each (SIO-ENC-01). This package handles the packet text and
// the attachments; package engineio handles the messages around them.
// Requirement IDs such as SIO-ENC-02 are stated in
// docs/requirements.md.
//
// # Wire form
//
// A packet is written as: the type digit; for types 5 and 6 the attachment
// count and "-"; the namespace and "," unless it is the main namespace "/";
// the ack id in decimal; the JSON payload:
//
//	2/admin,13["x"]
//	451-["a",{"_placeholder":true,"num":0}]   (after the Engine.IO "4")
//
// [Packet] keeps the payload as raw JSON bytes ([Packet.Data]); [Encoder]
// writes it verbatim and [Decoder] validates it in a single pass without
// building values. [NewEvent], [NewAck], [NewConnect], [NewConnectError],
// [NewDisconnect] and [NewPacket] build packets from Go values with
// [AppendJSON] and [Deconstruct], which write JSON exactly as JavaScript's
// JSON.stringify does (compact, key order kept, no HTML escaping, U+2028 and
// U+2029 raw, JavaScript number formatting), so that a packet built here is
// byte-identical to what socket.io-parser writes for the same value
// (SIO-ENC-08). [Object] is an ordered JSON object for callers who need a
// given key order. [Packet.Value], [Packet.Args], [Packet.Unmarshal],
// [ParseJSON] and [Reconstruct] turn payloads back into values.
// [Encoder.AppendEvent] writes an event from Go values straight into the
// caller's buffer in one pass (the same bytes as [NewEvent] followed by
// [Encode]), [Encoder.AppendAck] likewise for [NewAck], and a strict
// Encoder does not scan again a payload that the builders above wrote (it
// checks only its shape).
//
// # Binary packets
//
// [Deconstruct] replaces every []byte of a value by a placeholder
// {"_placeholder":true,"num":N}, numbered depth-first (SIO-BIN-01), and
// returns the attachments. [NewPacket] upgrades EVENT and ACK to
// BINARY_EVENT and BINARY_ACK when attachments are found, as Node does.
// [Decoder.Decode] returns a binary packet's header with every placeholder
// checked against the count (SIO-BIN-05); [Reassembler] collects the
// attachments that follow and reports a complete packet, keeping the
// BINARY_* type (Node's decoder reports those as EVENT/ACK). A
// placeholder-shaped object inside a plain EVENT is left alone (SIO-BIN-12).
//
// # Strictness
//
// Decoders are strict the way socket.io-parser 4.2.7 (v5) and 3.4.5 (v4) are, and
// every rejection is a *[DecodeError] with a byte offset and a sentinel for
// errors.Is: empty packet, unknown type, malformed or zero attachment count,
// too many attachments (limit [Decoder.MaxAttachments], default 10),
// placeholder num out of range, ack id junk or above 2^53-1, invalid JSON,
// wrong payload shape for the type (CONNECT not an object, DISCONNECT with
// a payload, EVENT not a non-empty array or with a name that is neither
// string nor number or is reserved, ACK not an array, CONNECT_ERROR neither
// object nor string). Node lumps most of these under "invalid payload";
// here the sentinel says which part is wrong (ErrEventName and
// ErrReservedEvent also match ErrPayload). A packet with no payload at all
// ("42", "43") is accepted, as Node accepts it (SIO-ENC-10, SIO-ACK-08).
// Decoders accept any valid JSON, whitespace included. Where Node's
// decoder is looser by accident of JavaScript's Number() they are stricter:
// the empty packet is refused (Node reads "" and " " as CONNECT), the type,
// attachment count and ack id are ASCII digits only (Node's Number() takes
// " " as 0, "1." as 1 and "1e1" as 10, so Node reads "2 [\"m\"]" as ack id 0
// where this package reads JSON whitespace), ack ids above 2^53-1 and
// fractional placeholder nums are refused, invalid UTF-8 is refused, JSON may nest at most 10000
// levels, and the classification of junk after the header (ack id,
// namespace or JSON) is a best guess, since Node reports it all as
// "invalid payload".
//
// Encoders are strict by default too: a strict [Encoder] refuses what the
// decoder would refuse. [Encoder.AllowIllegal] turns the checks off and
// honours [Packet.Raw], so specs can build illegal packets on purpose
// (unknown type, wrong attachment count, invalid JSON, "42abc[...]",
// oversized packets, reserved event names) without concatenating strings.
//
// # Versions and namespaces
//
// [Encoder.Version] and [Decoder.Version] select the revision; zero means
// V5. The main namespace "/" is never written on the wire and decoders
// report it as "/"; an empty [Packet.Nsp] means "/" too. A namespace ends at
// the first "," or at the end of the packet ("40/custom" is accepted,
// SIO-ENC-03) and cannot contain "," (SIO-ENC-04).
//
// V5: every namespace, "/" included, must be joined with a CONNECT whose
// payload is an optional auth object; the server answers CONNECT
// {"sid":"..."} ([Packet.SID]) or CONNECT_ERROR {"message":...,"data":...}.
//
// V4 differences (checked against socket.io-parser 3.4.5, the parser of
// socket.io 2.5.1): the server joins the client to "/" on its own right
// after the Engine.IO handshake (SIO4-02) and a client CONNECT for "/" is
// optional; CONNECT has no payload, credentials ride in a query after the
// namespace ("40/admin?token=abc,"), which a V4 decoder splits into
// [Packet.Query] and a V4 encoder writes from it (the parser itself still
// accepts a CONNECT payload whose typeof is "object": object, array or
// null); the CONNECT reply has no sid; type 4 is called ERROR
// ([PacketType.Name]) and its payload is usually a string
// ("44/admin,\"Not authorized\"") but may be an object, array or null; event
// names are not checked against the reserved list.
//
// # Memory and ownership
//
// Encoders append to the caller's buffer and return the extended slice. A
// decoded Packet's Data aliases the input slice, so the input must not be
// modified while the packet is in use; copy Data to keep it longer. Nsp and
// Query are new strings (the main namespace costs no allocation). A
// Reassembler keeps the attachment slices it is given without copying.
// Deconstruct returns the caller's own []byte values as attachments.
// Decoding a text packet walks its JSON once; values are only built when
// asked for (Value, Args, Unmarshal), without a second scan of a payload
// the Decoder validated (still the same slice, type and attachment count).
// [Reassembler.AddTextTo] decodes into a caller's Packet, for servers that
// keep the packet being handled off their frames.
//
// # Concurrency
//
// Encoder and Decoder are plain values without state, safe for concurrent
// use. A Reassembler holds per-connection state and must be used by one
// goroutine at a time. Packets are values; their slices are shared, not
// copied, when a Packet is copied.
package socketio
