"use strict";
// lib.js: the plumbing the Node testees share (testees/CLIENT-CONTRACT.md):
// environment, case support, report lines, binary values, options, exit.
// SIOSPEC_SEED is read and validated but unused: the testees make no random
// choice of their own, and the libraries draw their jitter from Math.random.

const fs = require("node:fs");
const path = require("node:path");

// report writes one JSON line synchronously, so nothing is lost on exit.
function report(obj) {
  fs.writeSync(1, JSON.stringify(obj) + "\n");
}

const fail = (msg) => {
  process.stderr.write(`testee: ${msg}\n`);
  process.exit(1);
};

// caseListed reads the case list the harness hands over (SIOSPEC_CASES),
// else testees/client-cases.txt (lines "<suite> <case>", # comments).
function caseListed(suite, name) {
  const file = process.env.SIOSPEC_CASES || path.join(__dirname, "..", "..", "client-cases.txt");
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim().split(/\s+/))
    .some((f) => f.length === 2 && f[0] === suite && f[1] === name);
}

const isBin = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);

// toJSON replaces every binary value by {"_bin": base64}, deep.
function toJSON(v) {
  if (isBin(v)) return { _bin: Buffer.from(ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v).toString("base64") };
  if (Array.isArray(v)) return v.map(toJSON);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJSON(x)]));
  return v;
}

// fromJSON turns every {"_bin": base64} into a Buffer, deep.
function fromJSON(v) {
  if (Array.isArray(v)) return v.map(fromJSON);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === "_bin" && typeof v._bin === "string") return Buffer.from(v._bin, "base64");
    return Object.fromEntries(keys.map((k) => [k, fromJSON(v[k])]));
  }
  return v;
}

const message = (e) => (e instanceof Error ? e.message : typeof e === "string" ? e : e == null ? "" : JSON.stringify(toJSON(e)));

// start validates the environment, exits 127 for a suite or case this testee
// does not run, arranges the exits (stdin EOF, crash) and reports ready.
function start(suites, library) {
  const env = process.env;
  const suite = env.SIOSPEC_SUITE || "";
  const name = env.SIOSPEC_CASE || "";
  if (!suites.includes(suite) || !caseListed(suite, name)) {
    process.stderr.write(`testee: ${library} does not run ${suite} ${name}\n`);
    process.exit(127);
  }
  let url;
  try {
    url = new URL(env.SIOSPEC_URL || "");
  } catch {
    fail(`SIOSPEC_URL ${JSON.stringify(env.SIOSPEC_URL)} is not a URL`);
  }
  const transports = (env.SIOSPEC_TRANSPORTS || "polling,websocket").split(",");
  if (!["polling,websocket", "websocket", "polling"].includes(transports.join(","))) fail(`bad SIOSPEC_TRANSPORTS ${env.SIOSPEC_TRANSPORTS}`);
  let options;
  try {
    options = JSON.parse(env.SIOSPEC_OPTIONS || "{}");
  } catch (e) {
    fail(`SIOSPEC_OPTIONS: ${e.message}`);
  }
  if (!options || typeof options !== "object" || Array.isArray(options)) fail("SIOSPEC_OPTIONS is not a JSON object");
  if (!/^-?\d+$/.test(env.SIOSPEC_SEED || "0")) fail(`bad SIOSPEC_SEED ${env.SIOSPEC_SEED}`);
  process.on("uncaughtException", (e) => {
    report({ ev: "error", message: `testee crashed: ${e && e.stack}` });
    process.exit(1);
  });
  process.stdin.on("end", () => process.exit(0));
  process.stdin.on("close", () => process.exit(0));
  process.stdin.on("error", () => process.exit(0));
  process.stdin.resume();
  report({ ev: "ready", library });
  // The library gets the origin; path and query travel as options.
  const query = Object.fromEntries(url.searchParams);
  return { suite, name, origin: url.origin, path: url.pathname, query, transports, options };
}

// mapOptions sorts the contract options into targets by table (key ->
// target name, e.g. "manager" or "socket") and reports the keys the
// library cannot honour. "namespaces" is the testee's own.
function mapOptions(options, table) {
  const out = {};
  for (const [k, v] of Object.entries(options)) {
    if (k === "namespaces") continue;
    const to = table[k];
    if (!to) report({ ev: "unsupported", cmd: "options", message: `option ${k} is not supported by this library` });
    else (out[to] = out[to] || {})[k] = v;
  }
  return out;
}

// exit leaves with code once the engine has written what is queued
// (bounded), so a last ack reaches the server.
function exit(code, engine) {
  if (!engine || !engine.writeBuffer || engine.writeBuffer.length === 0) process.exit(code);
  engine.once("drain", () => process.exit(code));
  setTimeout(() => process.exit(code), 1000);
}

// sioDriver is what the two Socket.IO testees share: the namespace sockets,
// the "siospec" commands, the echo of other events, and the Manager's and
// engine's events (same names in 2.x and 4.x). adapter does the rest:
// connect(nsp, auth) and emit(socket, nsp, cmd, args) return a reason when
// the library cannot; close() closes the Manager.
function sioDriver(manager, adapter) {
  const sockets = new Map();
  const onEvent = (nsp, event, args, ack) => {
    if (event === "siospec") return command(args[0], ack);
    if (event === NET_EVENT) return netReceived(nsp, args, ack);
    report({ ev: "event", nsp, event, args: toJSON(args), ack: !!ack });
    if (ack) ack(...args);
  };
  const command = (cmd, ack) => {
    cmd = cmd && typeof cmd === "object" ? cmd : {};
    const { tag } = cmd;
    const nsp = cmd.nsp || "/";
    const s = sockets.get(nsp);
    const reply = (obj) => ack && ack(obj);
    const refuse = (ev, msg) => {
      report({ ev, cmd: cmd.cmd, tag, message: msg });
      reply({ ok: false, message: msg });
    };
    const done = () => report({ ev: "done", cmd: cmd.cmd, tag });
    const noSocket = () => refuse("error", `no socket for namespace ${nsp}`);
    let why;
    switch (cmd.cmd) {
      case "emit":
        if (!s) return noSocket();
        try {
          why = adapter.emit(s, nsp, cmd, fromJSON(cmd.args || []));
        } catch (e) {
          return refuse("error", `the library refused the emit: ${e.message}`); // e.g. a reserved event name
        }
        if (why) return refuse("unsupported", why);
        break;
      case "connect":
        if ((why = adapter.connect(nsp, cmd.auth))) return refuse("unsupported", why);
        break;
      // disconnect, close and exit ack first: afterwards the ack could not
      // reach the server (close and exit) or would be for a gone namespace.
      case "disconnect":
        if (!s) return noSocket();
        reply({ ok: true });
        s.disconnect();
        return done();
      case "close":
        reply({ ok: true });
        adapter.close();
        return done();
      case "exit":
        reply({ ok: true });
        done();
        return exit(Number.isInteger(cmd.code) ? cmd.code : 0, manager.engine);
      case "stream":
        if (!s) return noSocket();
        if ((why = stream(s, nsp, cmd))) return refuse(why.startsWith("bad") ? "error" : "unsupported", why);
        break;
      default:
        return refuse("unsupported", `unknown command ${JSON.stringify(cmd.cmd)}`);
    }
    done();
    reply({ ok: true });
  };
  // manager.engine is a new engine on every (re)connection: attach on open.
  manager.on("open", () => {
    const engine = manager.engine;
    report({ ev: "open", sid: engine.id, transport: engine.transport && engine.transport.name });
    engine.on("upgrade", (t) => report({ ev: "upgrade", transport: t && t.name }));
    engine.on("upgradeError", (e) => report({ ev: "upgrade_error", message: message(e) }));
  });
  manager.on("error", (e) => report({ ev: "error", message: message(e) }));
  manager.on("reconnect_attempt", (attempt) => report({ ev: "reconnect_attempt", attempt }));
  manager.on("reconnect", (attempt) => report({ ev: "reconnect", attempt }));
  manager.on("reconnect_error", (e) => report({ ev: "reconnect_error", message: message(e) }));
  manager.on("reconnect_failed", () => report({ ev: "reconnect_failed" }));
  // netReceived reports a sequenced event of the server's stream and acks
  // it with its seq when asked (an offset the server appends for
  // connection state recovery is ignored).
  const netReceived = (nsp, args, ack) => {
    const p = args[0] && typeof args[0] === "object" ? args[0] : {};
    report({ ev: "net_recv", nsp, seq: p.seq, dir: p.dir, bin: args.slice(1).some(isBin), t: Date.now() });
    if (ack) ack(p.seq);
  };
  // stream emits count sequenced events, one every interval_ms, whatever
  // the connection state (the library buffers while disconnected, as an
  // application's emits would be); it returns a reason when it cannot.
  const stream = (s, nsp, cmd) => {
    const n = (k, d) => (cmd[k] === undefined ? d : cmd[k]);
    const count = n("count", 0);
    const interval = n("interval_ms", 0);
    const ackEvery = n("ack_every", 0);
    const binEvery = n("binary_every", 0);
    const timeout = cmd.timeout_ms;
    const event = cmd.event || NET_EVENT;
    if (![count, interval, ackEvery, binEvery].every((v) => Number.isInteger(v) && v >= 0)) return "bad stream: count, interval_ms, ack_every and binary_every must be whole numbers";
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) return "bad stream: timeout_ms must be a positive whole number";
    if (timeout !== undefined && !adapter.timeout) return "this library has no ack timeout";
    // seq counts from 0; every ack_every-th and binary_every-th event is
    // the one with seq % k == k - 1 (suites/netload).
    let seq = 0;
    const tick = () => {
      const n = seq++;
      const args = [{ seq: n, dir: "up" }];
      if (binEvery > 0 && n % binEvery === binEvery - 1) args.push(seqBytes(n));
      const withAck = ackEvery > 0 && n % ackEvery === ackEvery - 1;
      report({ ev: "net_sent", nsp, seq: n, ack: withAck, bin: args.length > 1, connected: !!s.connected, t: Date.now() });
      if (!withAck) s.emit(event, ...args);
      else if (timeout === undefined) s.emit(event, ...args, (...res) => report({ ev: "net_ack", nsp, seq: n, args: toJSON(res), t: Date.now() }));
      else
        adapter.timeout(s, timeout).emit(event, ...args, (err, ...res) => {
          if (err) report({ ev: "net_ack_error", nsp, seq: n, message: message(err), t: Date.now() });
          else report({ ev: "net_ack", nsp, seq: n, args: toJSON(res), t: Date.now() });
        });
      if (seq >= count) return report({ ev: "stream_done", nsp, tag: cmd.tag, count, t: Date.now() });
      setTimeout(tick, interval);
    };
    if (count > 0) setTimeout(tick, 0);
    else report({ ev: "stream_done", nsp, tag: cmd.tag, count, t: Date.now() });
  };
  const acked = (nsp, tag) => ({
    ok: (args) => report({ ev: "ack", nsp, tag, args: toJSON(args) }),
    err: (e) => report({ ev: "ack_error", nsp, tag, message: message(e) }),
  });
  return { sockets, onEvent, acked };
}

// NET_EVENT is the event of the net suite's sequenced streams
// (CLIENT-CONTRACT.md, the stream command).
const NET_EVENT = "net:seq";

// seqBytes is the binary attachment of stream event seq: 4 bytes, big endian.
function seqBytes(seq) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(seq >>> 0);
  return b;
}

module.exports = { report, toJSON, fromJSON, message, start, mapOptions, exit, sioDriver };
