"use strict";
// gen-engineio.js writes Engine.IO wire vectors produced by the pinned parsers
// (see package.json):
//
//   protocol/engineio/testdata/node/engineio-v4.json  engine.io-parser 5.2.3 (EIO v4)
//   protocol/engineio/testdata/node/engineio-v3.json  engine.io-parser 2.2.1 (EIO v3)
//
// The file format is described in protocol/engineio/testdata/node/README.md.
// Every case except the documented record-separator ones is decoded again
// with the same parser and compared, so the files only hold what Node does.

const assert = require("node:assert/strict");
const v4 = require("engine.io-parser");
const v3 = require("engine.io-parser-v2");
const { bytes, isBinary, toB64, writeCases } = require("./common.js");

const OUT_DIR = "protocol/engineio/testdata/node";
const RS = "\x1e";
const TYPES = ["open", "close", "ping", "pong", "message", "upgrade", "noop"];

// Packets as written in the files: {type, data} for text, {type, binary} for bytes.
const text = (data) => ({ type: "message", data });
const binary = (buf) => ({ type: "message", binary: buf.toString("base64") });
const bare = (type) => ({ type });
const typed = (type, data) => ({ type, data });

const HANDSHAKE_V4 = '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';
const HANDSHAKE_V3 = '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}';

// toParser turns a file packet into the object the parsers take.
function toParser(p) {
  if (p.binary !== undefined) return { type: p.type, data: Buffer.from(p.binary, "base64") };
  if (p.data !== undefined) return { type: p.type, data: p.data };
  return { type: p.type };
}

// fromParser turns a decoded packet back into the file form.
function fromParser(p) {
  if (isBinary(p.data)) return { type: p.type, binary: toB64(p.data) };
  if (p.data !== undefined && p.data !== "") return { type: p.type, data: p.data };
  return { type: p.type };
}

// normalise makes the expected form comparable with fromParser's output:
// on the wire an absent payload and an empty one are the same ("4"), and the
// decoders report both as absent (EIO-PKT-06).
function normalise(p) {
  if (p.binary !== undefined) return p;
  if (p.data === undefined || p.data === "") return { type: p.type };
  return p;
}

function encodedField(v) {
  return typeof v === "string" ? v : { base64: toB64(v) };
}

// sync runs a callback-style encoder and returns what it called back with.
function sync(fn) {
  let out;
  let calls = 0;
  fn((v) => {
    out = v;
    calls++;
  });
  assert.equal(calls, 1, "encoder must call back exactly once, synchronously");
  return out;
}

function check(name, packets, decoded) {
  assert.deepEqual(decoded.map(fromParser), packets.map(normalise), `${name}: round trip`);
}

// Packet lists used by both versions.
const allTypesBare = TYPES.map(bare);
const mixed = [text("hello"), binary(Buffer.from([1, 2, 3, 4])), text("\u20ac\u{1F600}"), binary(Buffer.alloc(0)), bare("ping")];
const fifty = [];
for (let i = 0; i < 50; i++) {
  if (i % 10 === 9) fifty.push(binary(bytes(i % 7, i)));
  else if (i % 10 === 4) fifty.push(text("\u{1F600}" + i));
  else fifty.push(text("m" + i));
}

// Single packets used by both versions: [id, name, packet].
function singlePackets(handshake) {
  return [
    ["EIO-PKT-01", "open without data", bare("open")],
    ["EIO-PKT-01", "open with handshake", typed("open", handshake)],
    ["EIO-PKT-01", "close without data", bare("close")],
    ["EIO-PKT-01", "close with data", typed("close", "x")],
    ["EIO-PKT-01", "ping without data", bare("ping")],
    ["EIO-PKT-04", "ping probe", typed("ping", "probe")],
    ["EIO-PKT-01", "pong without data", bare("pong")],
    ["EIO-PKT-04", "pong probe", typed("pong", "probe")],
    ["EIO-PKT-06", "message empty", text("")],
    ["EIO-PKT-01", "message hello", text("hello")],
    ["EIO-PKT-01", "message with digits", text("42[\"hello\"]")],
    ["EIO-PKT-01", "upgrade without data", bare("upgrade")],
    ["EIO-PKT-01", "upgrade with data", typed("upgrade", "x")],
    ["EIO-PKT-01", "noop without data", bare("noop")],
    ["EIO-PKT-01", "noop with data", typed("noop", "x")],
    ["EIO-PKT-02", "message euro and astral plane", text("\u20ac\u{1F600}")],
    ["EIO-PKT-02", "message astral plane only", text("\u{1F600}\u{1F601}")],
    ["EIO-PKT-02", "message line separators", text("a\u2028b\u2029c")],
    ["EIO-WS-02", "message containing record separator", text("a" + RS + "4b")],
    ["EIO-BIN-06", "binary empty", binary(Buffer.alloc(0))],
    ["EIO-BIN-03", "binary 1 byte", binary(bytes(1, 1))],
    ["EIO-BIN-03", "binary 2 bytes", binary(bytes(2, 1))],
    ["EIO-BIN-03", "binary 3 bytes", binary(bytes(3, 1))],
    ["EIO-BIN-03", "binary 4 bytes", binary(bytes(4, 1))],
    ["EIO-BIN-03", "binary 300 bytes", binary(bytes(300))],
    ["EIO-BIN-03", "binary high bytes", binary(Buffer.from([0xff, 0xfe, 0x00, 0x1e, 0x80]))],
  ];
}

// ---------------------------------------------------------------- v4

function v4Cases() {
  const cases = [];
  for (const [id, name, packet] of singlePackets(HANDSHAKE_V4)) {
    for (const base64session of [false, true]) {
      const enc = sync((cb) => v4.encodePacket(toParser(packet), !base64session, cb));
      const decoded = v4.decodePacket(enc, "nodebuffer");
      check(name, [packet], [decoded]);
      const where = base64session ? "polling" : "websocket";
      let caseID = id;
      if (packet.binary !== undefined) caseID = base64session ? "EIO-BIN-01" : id;
      cases.push({ id: caseID, name: `${name} (${where})`, kind: "packet", base64session, packets: [packet], encoded: encodedField(enc) });
    }
  }

  const payloads = [
    ["EIO-POLL-02", "single message", [text("hello")]],
    ["EIO-POLL-02", "three messages", [text("test1"), text("test2"), text("test3")]],
    ["EIO-POLL-02", "every packet type without data", allTypesBare],
    ["EIO-POLL-20", "noop then close", [bare("noop"), bare("close")]],
    ["EIO-POLL-02", "empty messages", [text(""), text(""), text("")]],
    ["EIO-PKT-02", "euro and astral plane", [text("\u20ac\u{1F600}"), text("\u{1F600}")]],
    ["EIO-BIN-02", "text then binary", [text("hello"), binary(Buffer.from([1, 2, 3, 4]))]],
    ["EIO-BIN-02", "mixed text binary and control", mixed],
    ["EIO-BIN-06", "empty binary alone", [binary(Buffer.alloc(0))]],
    ["EIO-BIN-01", "binary 300 bytes", [binary(bytes(300)), text("after")]],
    ["EIO-POLL-05", "fifty packets", fifty],
  ];
  for (const [id, name, packets] of payloads) {
    const enc = sync((cb) => v4.encodePayload(packets.map(toParser), cb));
    check(name, packets, v4.decodePayload(enc, "nodebuffer"));
    cases.push({ id, name, kind: "payload", base64session: true, packets, encoded: enc });
  }

  // EIO-POLL-19: Node does not escape 0x1E, so this payload does not round trip.
  const rsPackets = [text("a" + RS + "4b"), text("c")];
  const rsEnc = sync((cb) => v4.encodePayload(rsPackets.map(toParser), cb));
  assert.equal(rsEnc, "4a" + RS + "4b" + RS + "4c");
  assert.equal(v4.decodePayload(rsEnc, "nodebuffer").length, 3, "record separator splits the message");
  cases.push({ id: "EIO-POLL-19", name: "record separator inside a message is not escaped (decodes as 3 packets)", kind: "payload", base64session: true, packets: rsPackets, encoded: rsEnc });
  return cases;
}

// ---------------------------------------------------------------- v3

function v3DecodePayload(enc) {
  const out = [];
  v3.decodePayload(enc, "nodebuffer", (p) => {
    out.push(p);
  });
  return out;
}

function v3Cases() {
  const cases = [];
  for (const [id, name, packet] of singlePackets(HANDSHAKE_V3)) {
    for (const base64session of [false, true]) {
      // The WebSocket transport of engine.io 3.x calls encodePacket(packet, supportsBinary).
      const enc = sync((cb) => v3.encodePacket(toParser(packet), !base64session, cb));
      check(name, [packet], [v3.decodePacket(enc, "nodebuffer")]);
      const where = base64session ? "base64" : "websocket";
      let caseID = id;
      if (packet.binary !== undefined) caseID = base64session ? "EIO3-04" : "EIO3-07";
      cases.push({ id: caseID, name: `${name} (${where})`, kind: "packet", base64session, packets: [packet], encoded: encodedField(enc) });
    }
  }
  // encodeBase64Packet is what a b64 session uses for binary; it must agree
  // with encodePacket(…, false) above.
  for (const buf of [Buffer.alloc(0), Buffer.from([1, 2, 3, 4])]) {
    const a = sync((cb) => v3.encodeBase64Packet({ type: "message", data: buf }, cb));
    const b = sync((cb) => v3.encodePacket({ type: "message", data: buf }, false, cb));
    assert.equal(a, b);
  }

  const payloads = [
    ["EIO3-03", "single message", [text("hello")]],
    ["EIO3-03", "three messages", [text("test1"), text("test2"), text("test3")]],
    ["EIO3-03", "every packet type without data", allTypesBare],
    ["EIO3-09", "noop", [bare("noop")]],
    ["EIO3-09", "close", [bare("close")]],
    ["EIO3-09", "pong", [bare("pong")]],
    ["EIO3-02", "ping with probe data", [typed("ping", "probe")]],
    ["EIO3-03", "empty message", [text("")]],
    ["EIO3-03", "euro counts one UTF-16 unit", [text("\u20ac")]],
    ["EIO3-03", "euro and astral plane count UTF-16 units", [text("\u20ac\u{1F600}"), text("\u{1F600}\u{1F601}")]],
    ["EIO3-03", "record separator needs no escaping", [text("a" + RS + "4b"), text("c")]],
    ["EIO3-04", "text then binary", [text("hello"), binary(Buffer.from([1, 2, 3, 4]))]],
    ["EIO3-04", "mixed text binary and control", mixed],
    ["EIO3-04", "empty binary alone", [binary(Buffer.alloc(0))]],
    ["EIO3-04", "binary 300 bytes", [binary(bytes(300)), text("after")]],
    ["EIO3-03", "fifty packets", fifty],
  ];
  for (const [id, name, packets] of payloads) {
    const hasBin = packets.some((p) => p.binary !== undefined);
    // b64=1 session: always a text payload with b4<base64> for binary.
    const b64 = sync((cb) => v3.encodePayload(packets.map(toParser), false, cb));
    assert.equal(typeof b64, "string");
    check(name, packets, v3DecodePayload(b64));
    cases.push({ id, name: `${name} (b64 session)`, kind: "payload", base64session: true, packets, encoded: b64 });

    // Session without b64: what the polling GET answers. Text while no packet
    // holds binary, the XHR2 binary payload otherwise.
    const plain = sync((cb) => v3.encodePayload(packets.map(toParser), true, cb));
    assert.equal(typeof plain === "string", !hasBin);
    check(name, packets, v3DecodePayload(plain));
    cases.push({ id: hasBin ? "EIO3-05" : id, name: `${name} (binary session)`, kind: "payload", base64session: false, packets, encoded: encodedField(plain) });

    // encodePayloadAsBinary on its own: the XHR2 framing for any packet list,
    // which a client may also POST (EIO3-06). String lengths count UTF-8 bytes here.
    const asBin = sync((cb) => v3.encodePayloadAsBinary(packets.map(toParser), cb));
    check(name, packets, v3DecodePayload(asBin));
    cases.push({ id: hasBin ? "EIO3-05" : "EIO3-06", name: `${name} (XHR2 binary payload)`, kind: "payload-binary", base64session: false, packets, encoded: encodedField(asBin) });
  }

  // The empty payload: "0:" as text, zero bytes as XHR2.
  const emptyText = sync((cb) => v3.encodePayload([], false, cb));
  cases.push({ id: "EIO3-03", name: "empty packet list (b64 session)", kind: "payload", base64session: true, packets: [], encoded: emptyText });
  const emptyBin = sync((cb) => v3.encodePayloadAsBinary([], cb));
  cases.push({ id: "EIO3-06", name: "empty packet list (XHR2 binary payload)", kind: "payload-binary", base64session: false, packets: [], encoded: encodedField(emptyBin) });

  // The official v3 suite's exact vectors (TS-E3-09 / TS-E3-10).
  const suite = [text("hello"), binary(Buffer.from([1, 2, 3, 4]))];
  assert.equal(sync((cb) => v3.encodePayload(suite.map(toParser), false, cb)), "6:4hello10:b4AQIDBA==");
  assert.equal(toB64(sync((cb) => v3.encodePayload(suite.map(toParser), true, cb))), Buffer.from("0006ff3468656c6c6f0105ff0401020304", "hex").toString("base64"));
  return cases;
}

writeCases(`${OUT_DIR}/engineio-v4.json`, v4Cases());
writeCases(`${OUT_DIR}/engineio-v3.json`, v3Cases());
