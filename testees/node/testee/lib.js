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
  const acked = (nsp, tag) => ({
    ok: (args) => report({ ev: "ack", nsp, tag, args: toJSON(args) }),
    err: (e) => report({ ev: "ack_error", nsp, tag, message: message(e) }),
  });
  return { sockets, onEvent, acked };
}

module.exports = { report, toJSON, fromJSON, message, start, mapOptions, exit, sioDriver };
