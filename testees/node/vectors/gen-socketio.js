"use strict";
// gen-socketio.js writes Socket.IO v5 wire vectors produced by the pinned
// socket.io-parser (see package.json):
//
//   protocol/socketio/testdata/node/socketio-v5.json            encoder output
//   protocol/socketio/testdata/node/socketio-decode-errors.json decoder rejections
//   protocol/socketio/testdata/node/socketio-v4.json            protocol v4 (socket.io-parser 3.4.5):
//                                                               encoder output and decoder rejections
//
// The file formats are described in protocol/socketio/testdata/node/README.md.
// Every encoded case is decoded again with Node's Decoder and compared, and
// every error case must make the Decoder throw, so the files only hold what
// Node really does.

const assert = require("node:assert/strict");
const { Encoder, Decoder, PacketType } = require("socket.io-parser");
const { bytes, isBinary, toB64, writeCases } = require("./common.js");

const OUT_DIR = "protocol/socketio/testdata/node";

const CONNECT = PacketType.CONNECT;
const DISCONNECT = PacketType.DISCONNECT;
const EVENT = PacketType.EVENT;
const ACK = PacketType.ACK;
const CONNECT_ERROR = PacketType.CONNECT_ERROR;
const BINARY_EVENT = PacketType.BINARY_EVENT;
const BINARY_ACK = PacketType.BINARY_ACK;

const MAX_SAFE_ID = Number.MAX_SAFE_INTEGER; // 2^53-1
const UNICODE_NSP = "/caf\u00e9-\u{1F600}";

// bin returns a {"$binary": base64} marker for n deterministic bytes.
function bin(n, start = 0) {
  return { $binary: bytes(n, start).toString("base64") };
}

// Each entry: [requirement ID, case name, packet]. packet.type is the type on
// the wire (5/6 for packets that carry binary).
const encodeCases = [
  // CONNECT (type 0)
  ["SIO-CONN-01", "connect main namespace", { type: CONNECT, nsp: "/" }],
  ["SIO-CONN-01", "connect custom namespace", { type: CONNECT, nsp: "/admin" }],
  ["SIO-CONN-01", "connect unicode namespace", { type: CONNECT, nsp: UNICODE_NSP }],
  ["SIO-CONN-04", "connect main with auth", { type: CONNECT, nsp: "/", data: { token: "123" } }],
  ["SIO-CONN-04", "connect custom with auth", { type: CONNECT, nsp: "/admin", data: { token: "abc", user: { id: 7, roles: ["a", "b"] } } }],
  ["SIO-CONN-04", "connect with empty auth object", { type: CONNECT, nsp: "/", data: {} }],
  ["SIO-CONN-02", "connect reply with sid", { type: CONNECT, nsp: "/", data: { sid: "AAAAAAAAAAAAAAAAAAAA" } }],
  ["SIO-CONN-02", "connect reply with sid on custom namespace", { type: CONNECT, nsp: "/custom", data: { sid: "BBBBBBBBBBBBBBBBBBBB" } }],
  // DISCONNECT (type 1)
  ["SIO-DISC-01", "disconnect main namespace", { type: DISCONNECT, nsp: "/" }],
  ["SIO-DISC-01", "disconnect custom namespace", { type: DISCONNECT, nsp: "/admin" }],
  ["SIO-DISC-01", "disconnect unicode namespace", { type: DISCONNECT, nsp: UNICODE_NSP }],
  // EVENT (type 2)
  ["SIO-ENC-02", "event name only", { type: EVENT, nsp: "/", data: ["hello"] }],
  ["SIO-ENC-02", "event on custom namespace with ack 13", { type: EVENT, nsp: "/admin", id: 13, data: ["x"] }],
  ["SIO-ENC-03", "event main namespace omits slash", { type: EVENT, nsp: "/", data: ["m", 1] }],
  ["SIO-ENC-02", "event unicode namespace", { type: EVENT, nsp: UNICODE_NSP, data: ["m"] }],
  ["SIO-ENC-02", "event unicode namespace with ack 0", { type: EVENT, nsp: UNICODE_NSP, id: 0, data: ["m"] }],
  ["SIO-ACK-04", "event with ack id 0", { type: EVENT, nsp: "/", id: 0, data: ["q"] }],
  ["SIO-ENC-05", "event with ack id 456", { type: EVENT, nsp: "/", id: 456, data: ["message-with-ack", 1, "2", { 3: [false] }] }],
  ["SIO-ENC-11", "event with ack id 2^53-1", { type: EVENT, nsp: "/", id: MAX_SAFE_ID, data: ["big"] }],
  ["SIO-ENC-11", "event on custom namespace with ack id 2^53-1", { type: EVENT, nsp: "/admin", id: MAX_SAFE_ID, data: ["big"] }],
  ["SIO-EVT-04", "event with numeric name", { type: EVENT, nsp: "/", data: [1, "x"] }],
  ["SIO-EVT-05", "event suite message arguments", { type: EVENT, nsp: "/", data: ["message", 1, "2", { 3: [true] }] }],
  ["SIO-EVT-05", "event null and boolean arguments", { type: EVENT, nsp: "/", data: ["e", null, true, false, "", 0] }],
  ["SIO-EVT-05", "event nested objects and arrays", { type: EVENT, nsp: "/", data: ["nested", { a: { b: { c: [1, [2, [3, { d: null }]]] } }, e: [] }, [[], {}, [[{}]]]] }],
  ["SIO-ENC-08", "event keeps object key insertion order", { type: EVENT, nsp: "/", data: ["order", { zeta: 1, alpha: 2, mid: { y: 1, b: 2, a: 3 } }] }],
  ["SIO-ENC-08", "event integer-like keys come first in JS objects", { type: EVENT, nsp: "/", data: ["order", { b: 1, 2: "two", a: 3, 1: "one" }] }],
  ["SIO-ENC-08", "event astral plane text", { type: EVENT, nsp: "/", data: ["uni", "\u{1F600}", "a\u{1F600}b", { "\u{1F600}": "\u{1F600}" }] }],
  ["SIO-ENC-08", "event BMP text", { type: EVENT, nsp: "/", data: ["uni", "caf\u00e9", "\u20ac", "\u65e5\u672c\u8a9e"] }],
  ["SIO-ENC-08", "event line and paragraph separators unescaped", { type: EVENT, nsp: "/", data: ["sep", "a\u2028b\u2029c"] }],
  ["SIO-ENC-08", "event html characters unescaped", { type: EVENT, nsp: "/", data: ["html", "<script>&amp;</script>", { "<k>": "&" }] }],
  ["SIO-ENC-08", "event control characters escaped", { type: EVENT, nsp: "/", data: ["ctl", "tab\tnl\ncr\rq\"bs\\ nul\u0000 us\u001f del\u007f"] }],
  ["SIO-ENC-08", "event slash not escaped", { type: EVENT, nsp: "/", data: ["path", "a/b</c>"] }],
  ["SIO-ENC-08", "event number 1e21", { type: EVENT, nsp: "/", data: ["num", 1e21] }],
  ["SIO-ENC-08", "event number 1e20 written in full", { type: EVENT, nsp: "/", data: ["num", 1e20] }],
  ["SIO-ENC-08", "event negative zero written as 0", { type: EVENT, nsp: "/", data: ["num", -0] }],
  ["SIO-ENC-08", "event number 0.1", { type: EVENT, nsp: "/", data: ["num", 0.1, 0.1 + 0.2] }],
  ["SIO-ENC-08", "event large integers", { type: EVENT, nsp: "/", data: ["num", MAX_SAFE_ID, -MAX_SAFE_ID, 2 ** 53, 2 ** 64] }],
  ["SIO-ENC-08", "event small and negative numbers", { type: EVENT, nsp: "/", data: ["num", -1, 1.5, -2.25e-7, 5e-324, 1.7976931348623157e308] }],
  ["SIO-ENC-08", "event NaN and Infinity become null", { type: EVENT, nsp: "/", data: ["num", NaN, Infinity, -Infinity] }],
  ["SIO-ENC-08", "event undefined property dropped and array slot null", { type: EVENT, nsp: "/", data: ["undef", { a: undefined, b: 1 }, [undefined]] }],
  // ACK (type 3)
  ["SIO-ACK-01", "ack with ack id 0", { type: ACK, nsp: "/", id: 0, data: [] }],
  ["SIO-ACK-02", "ack empty array", { type: ACK, nsp: "/", id: 13, data: [] }],
  ["SIO-ACK-01", "ack suite message-with-ack reply", { type: ACK, nsp: "/", id: 456, data: [1, "2", { 3: [false] }] }],
  ["SIO-ACK-01", "ack on custom namespace", { type: ACK, nsp: "/admin", id: 13, data: ["ok"] }],
  ["SIO-ACK-01", "ack on unicode namespace", { type: ACK, nsp: UNICODE_NSP, id: 456, data: [null] }],
  ["SIO-ENC-11", "ack with id 2^53-1", { type: ACK, nsp: "/", id: MAX_SAFE_ID, data: ["done"] }],
  // CONNECT_ERROR (type 4)
  ["SIO-CONN-05", "connect error invalid namespace", { type: CONNECT_ERROR, nsp: "/random", data: { message: "Invalid namespace" } }],
  ["SIO-CONN-06", "connect error with message and data", { type: CONNECT_ERROR, nsp: "/", data: { message: "Not authorized", data: { code: 401, reason: ["token", "expired"] } } }],
  ["SIO-CONN-06", "connect error with data undefined", { type: CONNECT_ERROR, nsp: "/admin", data: { message: "refused", data: undefined } }],
  ["SIO-CONN-06", "connect error with null data", { type: CONNECT_ERROR, nsp: "/", data: { message: "refused", data: null } }],
  ["SIO-ERR-03", "connect error string payload", { type: CONNECT_ERROR, nsp: "/", data: "Not authorized" }],
  // BINARY_EVENT (type 5)
  ["SIO-BIN-01", "binary event one attachment", { type: BINARY_EVENT, nsp: "/", data: ["bin", bin(3, 1)] }],
  ["SIO-BIN-01", "binary event empty buffer", { type: BINARY_EVENT, nsp: "/", data: ["empty", bin(0)] }],
  ["SIO-BIN-02", "binary event two attachments suite echo", { type: BINARY_EVENT, nsp: "/", data: ["message-back", bin(3, 1), bin(3, 4)] }],
  ["SIO-BIN-01", "binary event four attachments at several depths", {
    type: BINARY_EVENT, nsp: "/", data: ["deep", bin(1, 10), { a: bin(2, 20), b: { c: [1, bin(3, 30)] } }, [[[bin(4, 40)]]]],
  }],
  ["SIO-BIN-01", "binary event depth-first numbering inside an object", { type: BINARY_EVENT, nsp: "/", data: ["obj", { first: { inner: bin(1, 1) }, second: bin(1, 2) }] }],
  ["SIO-BIN-02", "binary event 300 byte attachment", { type: BINARY_EVENT, nsp: "/", data: ["large", bin(300)] }],
  ["SIO-BIN-01", "binary event on custom namespace with ack 0", { type: BINARY_EVENT, nsp: "/admin", id: 0, data: ["bin", bin(2, 7)] }],
  ["SIO-BIN-01", "binary event on unicode namespace with ack 456", { type: BINARY_EVENT, nsp: UNICODE_NSP, id: 456, data: ["bin", bin(1, 255)] }],
  ["SIO-BIN-02", "binary event suite message-with-ack", { type: BINARY_EVENT, nsp: "/", id: 789, data: ["message-with-ack", bin(3, 1), bin(3, 4)] }],
  ["SIO-BIN-01", "binary event ten attachments", { type: BINARY_EVENT, nsp: "/", data: ["ten", bin(1, 0), bin(1, 1), bin(1, 2), bin(1, 3), bin(1, 4), bin(1, 5), bin(1, 6), bin(1, 7), bin(1, 8), bin(1, 9)] }],
  ["SIO-BIN-01", "binary event mixed with unicode text", { type: BINARY_EVENT, nsp: "/", data: ["mix", "\u{1F600}\u2028", bin(2, 0xfe), { "<&>": 1e21 }] }],
  // BINARY_ACK (type 6)
  ["SIO-ACK-03", "binary ack one attachment", { type: BINARY_ACK, nsp: "/", id: 0, data: [bin(3, 1)] }],
  ["SIO-ACK-03", "binary ack two attachments suite reply", { type: BINARY_ACK, nsp: "/", id: 789, data: [bin(3, 1), bin(3, 4)] }],
  ["SIO-ACK-03", "binary ack four attachments nested", { type: BINARY_ACK, nsp: "/admin", id: 13, data: [{ x: [bin(1, 1), { y: bin(2, 2) }] }, bin(3, 3), [[bin(4, 4)]]] }],
  ["SIO-ACK-03", "binary ack empty buffer with id 2^53-1", { type: BINARY_ACK, nsp: "/", id: MAX_SAFE_ID, data: [bin(0)] }],
];

// markersToBinary returns a copy of v with {"$binary": b64} markers turned
// into Buffers.
function markersToBinary(v) {
  if (Array.isArray(v)) return v.map(markersToBinary);
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "$binary") return Buffer.from(v.$binary, "base64");
    const out = {};
    for (const k of keys) out[k] = markersToBinary(v[k]);
    return out;
  }
  return v;
}

// binaryToMarkers is the inverse of markersToBinary.
function binaryToMarkers(v) {
  if (isBinary(v)) return { $binary: toB64(v) };
  if (Array.isArray(v)) return v.map(binaryToMarkers);
  if (v !== null && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = binaryToMarkers(v[k]);
    return out;
  }
  return v;
}

function encodedParts(parts) {
  return parts.map((p) => (typeof p === "string" ? p : { base64: toB64(p) }));
}

function inputParts(parts) {
  return parts.map((p) => (typeof p === "string" ? p : Buffer.from(p.base64, "base64")));
}

// decodeAll feeds parts to a fresh Decoder. It returns the decoded packets
// or throws what the Decoder threw.
function decodeAll(parts) {
  const decoder = new Decoder();
  const out = [];
  decoder.on("decoded", (p) => out.push(p));
  for (const part of parts) decoder.add(part);
  return out;
}

function buildEncodeCase([id, name, packet]) {
  // The file keeps the packet as JSON: undefined members vanish and numbers
  // take their JSON spelling, which is also what the encoder writes.
  const filePacket = { type: packet.type, nsp: packet.nsp };
  if (packet.id !== undefined) filePacket.id = packet.id;
  if (packet.data !== undefined) filePacket.data = packet.data;

  // Node's Encoder counts attachments only when it upgrades an EVENT/ACK
  // that holds binary (that is how socket.io itself calls it), so packets of
  // type 5/6 are handed over as 2/3.
  const wantBinary = packet.type === BINARY_EVENT || packet.type === BINARY_ACK;
  const input = {
    type: packet.type === BINARY_EVENT ? EVENT : packet.type === BINARY_ACK ? ACK : packet.type,
    nsp: packet.nsp,
  };
  if (packet.id !== undefined) input.id = packet.id;
  if (packet.data !== undefined) input.data = markersToBinary(packet.data);

  const parts = new Encoder().encode(input);
  assert.equal(Number(parts[0][0]), packet.type, `${name}: wire type`);
  assert.equal(parts.length > 1 || /^[56]/.test(parts[0]), wantBinary, `${name}: binary upgrade`);

  // Round trip through Node's Decoder; it reports 5/6 as 2/3.
  const decoded = decodeAll(parts);
  assert.equal(decoded.length, 1, `${name}: decoded count`);
  const d = decoded[0];
  assert.equal(d.type, input.type, `${name}: decoded type`);
  assert.equal(d.nsp, packet.nsp, `${name}: decoded nsp`);
  assert.equal(d.id, packet.id, `${name}: decoded id`);
  assert.equal(
    JSON.stringify(binaryToMarkers(d.data)),
    JSON.stringify(filePacket.data),
    `${name}: decoded data`,
  );

  return { id, name, packet: JSON.parse(JSON.stringify(filePacket)), encoded: encodedParts(parts) };
}

const ph = (n) => ({ _placeholder: true, num: n });
const b64 = (n, start = 0) => ({ base64: bytes(n, start).toString("base64") });

// Each entry: [requirement ID, case name, input parts]. A part is a string
// (an EIO text message) or {base64} (an EIO binary message).
const errorCases = [
  // SIO-ENC-06: invalid JSON
  ["SIO-ENC-06", "event truncated JSON", ['2["m"']],
  ["SIO-ENC-06", "event bare word payload", ["2abc"]],
  ["SIO-ENC-06", "event single quotes", ["2['m']"]],
  ["SIO-ENC-06", "event trailing comma", ['2["m",]']],
  ["SIO-ENC-06", "event trailing junk after array", ['2["m"]x']],
  ["SIO-ENC-06", "connect truncated JSON", ['0{"token":']],
  ["SIO-ENC-06", "ack invalid JSON", ["31[1,]"]],
  // SIO-ENC-07: packet type outside 0-6 or not a digit
  ["SIO-ENC-07", "type 7", ['7["m"]']],
  ["SIO-ENC-07", "type 8 alone", ["8"]],
  ["SIO-ENC-07", "type 9", ["9"]],
  ["SIO-ENC-07", "letter type", ["abc"]],
  ["SIO-ENC-07", "minus type", ['-2["m"]']],
  ["SIO-ENC-07", "bracket type", ['["m"]']],
  ["SIO-ENC-07", "slash type", ["/admin,0"]],
  // SIO-ENC-09: payload checks by packet type
  ["SIO-ENC-09", "connect array payload", ["0[1]"]],
  ["SIO-ENC-09", "connect string payload", ['0"token"']],
  ["SIO-ENC-09", "connect null payload", ["0null"]],
  ["SIO-ENC-09", "connect boolean payload", ["0true"]],
  ["SIO-ENC-09", "disconnect object payload", ["1{}"]],
  ["SIO-ENC-09", "event object payload", ['2{"a":1}']],
  ["SIO-ENC-09", "event string payload", ['2"m"']],
  ["SIO-ENC-09", "ack object payload", ["3{}"]],
  ["SIO-ENC-09", "ack string payload", ['31"x"']],
  ["SIO-ENC-09", "ack null payload", ["31null"]],
  ["SIO-ENC-09", "connect error array payload", ['4["x"]']],
  ["SIO-ENC-09", "connect error null payload", ["4null"]],
  ["SIO-ENC-09", "connect error boolean payload", ["4false"]],
  ["SIO-ENC-09", "binary event object payload", ["51-{}", b64(1)]],
  ["SIO-ENC-09", "binary ack object payload", ["61-1{}", b64(1)]],
  // SIO-EVT-02: not an array, or empty
  ["SIO-EVT-02", "event empty object", ["2{}"]],
  ["SIO-EVT-02", "event empty array", ["2[]"]],
  ["SIO-EVT-02", "event empty array with ack", ["213[]"]],
  ["SIO-ENC-05", "event ack id followed by a fraction", ["2/admin,13.5"]],
  // SIO-EVT-03: reserved event names
  ["SIO-EVT-03", "reserved name connect", ['2["connect"]']],
  ["SIO-EVT-03", "reserved name connect_error", ['2["connect_error"]']],
  ["SIO-EVT-03", "reserved name disconnect", ['2["disconnect"]']],
  ["SIO-EVT-03", "reserved name disconnecting", ['2["disconnecting"]']],
  ["SIO-EVT-03", "reserved name newListener", ['2["newListener"]']],
  ["SIO-EVT-03", "reserved name removeListener", ['2["removeListener"]']],
  ["SIO-EVT-03", "reserved name on custom namespace with ack", ['2/admin,7["disconnect","x"]']],
  ["SIO-EVT-03", "reserved name in binary event", ['51-["connect",{"_placeholder":true,"num":0}]', b64(1)]],
  // SIO-EVT-04: event name neither string nor number
  ["SIO-EVT-04", "event name null", ["2[null]"]],
  ["SIO-EVT-04", "event name true", ['2[true,"x"]']],
  ["SIO-EVT-04", "event name object", ['2[{"name":"x"}]']],
  ["SIO-EVT-04", "event name array", ['2[["x"]]']],
  // SIO-ACK-06: malformed ack id
  ["SIO-ACK-06", "ack id with letters", ['2abc["message-with-ack",1,"2",{"3":[false]}]']],
  ["SIO-ACK-06", "ack id with letters after digits", ['212abc["m"]']],
  // SIO-BIN-05: placeholder num outside [0, N)
  ["SIO-BIN-05", "placeholder num out of range", ['51-["e",' + JSON.stringify(ph(5)) + "]", b64(1)]],
  ["SIO-BIN-05", "placeholder num equal to count", ['52-["e",' + JSON.stringify(ph(0)) + "," + JSON.stringify(ph(2)) + "]", b64(1), b64(1)]],
  ["SIO-BIN-05", "placeholder num negative", ['51-["e",{"_placeholder":true,"num":-1}]', b64(1)]],
  ["SIO-BIN-05", "placeholder num as string", ['51-["e",{"_placeholder":true,"num":"0"}]', b64(1)]],
  ["SIO-BIN-05", "placeholder without num", ['51-["e",{"_placeholder":true}]', b64(1)]],
  ["SIO-BIN-05", "placeholder num out of range in binary ack", ['61-3[{"_placeholder":true,"num":1}]', b64(2)]],
  // SIO-BIN-07: more than 10 attachments
  ["SIO-BIN-07", "eleven attachments", ['511-["e"]']],
  ["SIO-BIN-07", "one hundred attachments in binary ack", ["6100-1[]"]],
  // SIO-BIN-08: malformed attachment header
  ["SIO-BIN-08", "attachment count missing", ['5-["e",{"_placeholder":true,"num":0}]']],
  ["SIO-BIN-08", "attachment count not a number", ['5x-["e"]']],
  ["SIO-BIN-08", "attachment count negative", ['5-1-["e"]']],
  ["SIO-BIN-08", "attachment dash missing", ['51["e",{"_placeholder":true,"num":0}]']],
  ["SIO-BIN-08", "attachment header only type", ["5"]],
  ["SIO-BIN-08", "attachment count fractional", ['51.5-["e"]']],
  ["SIO-BIN-08", "binary ack attachment count missing", ["6-1[]"]],
  // Errata 3 (SIO-BIN-06): zero attachments rejected by socket.io-parser 4.2.7
  ["SIO-BIN-06", "zero attachments binary event", ['50-["e"]']],
  ["SIO-BIN-06", "zero attachments binary ack", ["60-1[]"]],
  // SIO-BIN-03 / SIO-BIN-04: framing of attachments
  ["SIO-BIN-03", "text packet during reassembly", ['51-["e",{"_placeholder":true,"num":0}]', '2["x"]']],
  ["SIO-BIN-04", "binary message without pending header", [b64(3, 1)]],
  ["SIO-BIN-04", "extra binary message after complete packet", ['51-["e",{"_placeholder":true,"num":0}]', b64(1), b64(1)]],
  // SIO-CONN-09: invalid CONNECT payload
  ["SIO-CONN-09", "connect main array payload", ["0[1]"]],
  ["SIO-CONN-09", "connect main null payload", ["0null"]],
  ["SIO-CONN-09", "connect main number payload", ["0-5"]],
  ["SIO-CONN-09", "connect main object followed by junk", ["0{}1"]],
  ["SIO-CONN-09", "connect custom string payload", ['0/custom,"abc"']],
  ["SIO-CONN-09", "connect custom malformed JSON", ["0/custom,{token}"]],
  ["SIO-CONN-09", "connect custom array payload", ['0/admin,["token"]']],
  // SIO-DISC-02: DISCONNECT with a payload
  ["SIO-DISC-02", "disconnect main with object", ["1{}"]],
  ["SIO-DISC-02", "disconnect main with array", ['1["bye"]']],
  ["SIO-DISC-02", "disconnect main with null", ["1null"]],
  ["SIO-DISC-02", "disconnect custom with string", ['1/admin,"bye"']],
  ["SIO-DISC-02", "disconnect custom with object", ["1/admin,{}"]],
  ["SIO-DISC-02", "disconnect custom with number", ["1/admin,-1"]],
];

function buildErrorCase([id, name, input]) {
  let error;
  try {
    decodeAll(inputParts(input));
  } catch (e) {
    error = e.message;
  }
  if (error === undefined) throw new Error(`${id} ${name}: Node's Decoder accepted ${JSON.stringify(input)}`);
  return { id, name, input, error };
}

writeCases(`${OUT_DIR}/socketio-v5.json`, encodeCases.map(buildEncodeCase));
writeCases(`${OUT_DIR}/socketio-decode-errors.json`, errorCases.map(buildErrorCase));

// ---------------------------------------------------------------------------
// Protocol v4: socket.io-parser 3.4.5, the parser of socket.io 2.5.1 (the
// "socket.io-v2" alias in package.json), into socketio-v4.json. Its Encoder
// takes a callback and is handed the wire type itself (5/6 for packets with
// Buffers, as socket.io 2.x does after its own hasBin check); its Decoder
// reports 5/6 as they are, throws on the errors below, and emits an ERROR
// packet ("parser error: ...") instead of throwing for an unknown type, so
// unknown types have no case here (see testdata/node/README.md).
// ---------------------------------------------------------------------------

const v4 = require("socket.io-v2/node_modules/socket.io-parser");
const V4_PARSER_VERSION = require("socket.io-v2/node_modules/socket.io-parser/package.json").version;
assert.equal(V4_PARSER_VERSION, "3.4.5", "socket.io-parser behind socket.io-v2");

function v4Encode(packet) {
  let parts;
  new v4.Encoder().encode(packet, (p) => { parts = p; });
  assert.ok(parts, "v4 Encoder called back synchronously");
  return parts;
}

function v4DecodeAll(parts) {
  const decoder = new v4.Decoder();
  const out = [];
  decoder.on("decoded", (p) => out.push(p));
  for (const part of parts) decoder.add(part);
  return out;
}

// Each entry: [requirement ID, case name, packet]. packet.query is the
// namespace query of a v4 CONNECT (socket.io-client 2.x appends
// "?" + query to the namespace of the CONNECT packet it sends).
const v4EncodeCases = [
  // CONNECT (type 0)
  ["SIO4-04", "v4 connect main namespace", { type: 0, nsp: "/" }],
  ["SIO4-04", "v4 connect custom namespace", { type: 0, nsp: "/admin" }],
  ["SIO4-04", "v4 connect unicode namespace", { type: 0, nsp: UNICODE_NSP }],
  ["SIO4-03", "v4 connect custom namespace with query", { type: 0, nsp: "/admin", query: "token=abc&x=1" }],
  ["SIO4-03", "v4 connect query with percent escapes", { type: 0, nsp: "/chat", query: "name=caf%C3%A9&q=a%2Cb" }],
  // DISCONNECT (type 1)
  ["SIO-DISC-01", "v4 disconnect main namespace", { type: 1, nsp: "/" }],
  ["SIO-DISC-01", "v4 disconnect custom namespace", { type: 1, nsp: "/admin" }],
  // EVENT (type 2)
  ["SIO-ENC-02", "v4 event name only", { type: 2, nsp: "/", data: ["hello"] }],
  ["SIO-ENC-02", "v4 event on custom namespace with ack 13", { type: 2, nsp: "/admin", id: 13, data: ["x"] }],
  ["SIO-ACK-04", "v4 event with ack id 0", { type: 2, nsp: "/", id: 0, data: ["q"] }],
  ["SIO-ENC-11", "v4 event with ack id 2^53-1", { type: 2, nsp: "/", id: MAX_SAFE_ID, data: ["big"] }],
  ["SIO-EVT-04", "v4 event with numeric name", { type: 2, nsp: "/", data: [1, "x"] }],
  ["SIO-EVT-03", "v4 event named connect is an ordinary name", { type: 2, nsp: "/", data: ["connect", 1] }],
  ["SIO-EVT-03", "v4 event named disconnect is an ordinary name", { type: 2, nsp: "/admin", data: ["disconnect"] }],
  ["SIO-EVT-05", "v4 event suite message arguments", { type: 2, nsp: "/", data: ["message", 1, "2", { 3: [true] }] }],
  ["SIO-EVT-05", "v4 event null and boolean arguments", { type: 2, nsp: "/", data: ["e", null, true, false, "", 0] }],
  ["SIO-ENC-08", "v4 event unicode and separators", { type: 2, nsp: "/", data: ["uni", "caf\u00e9 \u20ac \u{1F600}", "a\u2028b\u2029c"] }],
  ["SIO-ENC-08", "v4 event control characters escaped", { type: 2, nsp: "/", data: ["ctl", "tab\tnl\nq\"bs\\ nul\u0000 del\u007f"] }],
  ["SIO-ENC-08", "v4 event numbers", { type: 2, nsp: "/", data: ["num", 1e21, 1e20, -0, 0.1, -2.25e-7, NaN] }],
  ["SIO-ENC-08", "v4 event key order", { type: 2, nsp: "/", data: ["order", { b: 1, 2: "two", a: 3, 1: "one" }] }],
  // ACK (type 3)
  ["SIO-ACK-01", "v4 ack with ack id 0", { type: 3, nsp: "/", id: 0, data: [] }],
  ["SIO-ACK-01", "v4 ack suite message-with-ack reply", { type: 3, nsp: "/", id: 456, data: [1, "2", { 3: [false] }] }],
  ["SIO-ACK-01", "v4 ack on custom namespace", { type: 3, nsp: "/admin", id: 13, data: ["ok"] }],
  // ERROR (type 4)
  ["SIO4-05", "v4 error string payload", { type: 4, nsp: "/", data: "Not authorized" }],
  ["SIO4-05", "v4 error invalid namespace", { type: 4, nsp: "/random", data: "Invalid namespace" }],
  ["SIO4-05", "v4 error object payload", { type: 4, nsp: "/", data: { message: "refused", data: { code: 401 } } }],
  // BINARY_EVENT (type 5)
  ["SIO-BIN-01", "v4 binary event one attachment", { type: 5, nsp: "/", data: ["bin", bin(3, 1)] }],
  ["SIO-BIN-01", "v4 binary event empty buffer", { type: 5, nsp: "/", data: ["empty", bin(0)] }],
  ["SIO-BIN-01", "v4 binary event four attachments at several depths", {
    type: 5, nsp: "/", data: ["deep", bin(1, 10), { a: bin(2, 20), b: { c: [1, bin(3, 30)] } }, [[[bin(4, 40)]]]],
  }],
  ["SIO-BIN-01", "v4 binary event on custom namespace with ack 0", { type: 5, nsp: "/admin", id: 0, data: ["bin", bin(2, 7)] }],
  ["SIO-BIN-02", "v4 binary event suite message-with-ack", { type: 5, nsp: "/", id: 789, data: ["message-with-ack", bin(3, 1), bin(3, 4)] }],
  ["SIO-BIN-01", "v4 binary event ten attachments", { type: 5, nsp: "/", data: ["ten", bin(1, 0), bin(1, 1), bin(1, 2), bin(1, 3), bin(1, 4), bin(1, 5), bin(1, 6), bin(1, 7), bin(1, 8), bin(1, 9)] }],
  // BINARY_ACK (type 6)
  ["SIO4-07", "v4 binary ack two attachments", { type: 6, nsp: "/", id: 789, data: [bin(3, 1), bin(3, 4)] }],
  ["SIO4-07", "v4 binary ack nested on custom namespace", { type: 6, nsp: "/admin", id: 13, data: [{ x: [bin(1, 1), { y: bin(2, 2) }] }] }],
];

function buildV4EncodeCase([id, name, packet]) {
  const filePacket = { type: packet.type, nsp: packet.nsp };
  if (packet.query !== undefined) filePacket.query = packet.query;
  if (packet.id !== undefined) filePacket.id = packet.id;
  if (packet.data !== undefined) filePacket.data = packet.data;

  const input = { type: packet.type, nsp: packet.query === undefined ? packet.nsp : `${packet.nsp}?${packet.query}` };
  if (packet.id !== undefined) input.id = packet.id;
  if (packet.data !== undefined) input.data = markersToBinary(packet.data);

  const parts = v4Encode(input);
  assert.equal(Number(parts[0][0]), packet.type, `${name}: wire type`);

  // Round trip through the v4 Decoder, which keeps 5/6 and the query
  // inside nsp.
  const decoded = v4DecodeAll(parts);
  assert.equal(decoded.length, 1, `${name}: decoded count`);
  const d = decoded[0];
  assert.equal(d.type, packet.type, `${name}: decoded type`);
  assert.equal(d.nsp, input.nsp, `${name}: decoded nsp`);
  assert.equal(d.id, packet.id, `${name}: decoded id`);
  assert.equal(
    JSON.stringify(binaryToMarkers(d.data)),
    JSON.stringify(filePacket.data),
    `${name}: decoded data`,
  );

  return { id, version: 4, name, packet: JSON.parse(JSON.stringify(filePacket)), encoded: encodedParts(parts) };
}

// Inputs socket.io-parser 3.4.5 rejects by throwing.
const v4ErrorCases = [
  ["SIO-ENC-06", "v4 event truncated JSON", ['2["m"']],
  ["SIO-ENC-06", "v4 event trailing comma", ['2["m",]']],
  ["SIO-ENC-06", "v4 event bare word payload", ["2abc"]],
  ["SIO-ENC-09", "v4 connect string payload", ['0"token"']],
  ["SIO-ENC-09", "v4 connect boolean payload", ["0true"]],
  ["SIO-ENC-09", "v4 disconnect object payload", ["1{}"]],
  ["SIO-ENC-09", "v4 event object payload", ['2{"a":1}']],
  ["SIO-ENC-09", "v4 ack object payload", ["31{}"]],
  ["SIO-ENC-09", "v4 error boolean payload", ["4false"]],
  ["SIO-ENC-09", "v4 error number payload", ["4/admin,-1"]],
  ["SIO-EVT-02", "v4 event empty array", ["2[]"]],
  ["SIO-EVT-04", "v4 event name null", ["2[null]"]],
  ["SIO-EVT-04", "v4 event name object", ['2[{"name":"x"}]']],
  ["SIO-ACK-06", "v4 ack id with letters", ['212abc["m"]']],
  ["SIO-BIN-05", "v4 placeholder num out of range", ['51-["e",' + JSON.stringify(ph(5)) + "]", b64(1)]],
  ["SIO-BIN-05", "v4 placeholder num negative", ['51-["e",{"_placeholder":true,"num":-1}]', b64(1)]],
  ["SIO-BIN-05", "v4 placeholder num as string", ['51-["e",{"_placeholder":true,"num":"0"}]', b64(1)]],
  ["SIO-BIN-07", "v4 eleven attachments", ['511-["e"]']],
  ["SIO-BIN-08", "v4 attachment count missing", ['5-["e",{"_placeholder":true,"num":0}]']],
  ["SIO-BIN-08", "v4 attachment count not a number", ['5x-["e"]']],
  ["SIO-BIN-08", "v4 attachment dash missing", ['51["e",{"_placeholder":true,"num":0}]']],
  ["SIO-BIN-08", "v4 attachment header only type", ["5"]],
  ["SIO-BIN-06", "v4 zero attachments binary event", ['50-["e"]']],
  ["SIO-BIN-03", "v4 text packet during reassembly", ['51-["e",{"_placeholder":true,"num":0}]', '2["x"]']],
  ["SIO-BIN-04", "v4 binary message without pending header", [b64(3, 1)]],
];

function buildV4ErrorCase([id, name, input]) {
  let error;
  try {
    v4DecodeAll(inputParts(input));
  } catch (e) {
    error = e.message;
  }
  if (error === undefined) throw new Error(`${id} ${name}: socket.io-parser 3.4.5 accepted ${JSON.stringify(input)}`);
  return { id, version: 4, name, input, error };
}

writeCases(`${OUT_DIR}/socketio-v4.json`, [...v4EncodeCases.map(buildV4EncodeCase), ...v4ErrorCases.map(buildV4ErrorCase)]);
