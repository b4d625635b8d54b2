"use strict";
// sio-lib.js — shared plumbing for the Socket.IO client scenario scripts
// (sio-*.js) that siospec's Go tests run against the reference Socket.IO
// server (reference/sioserver, usually in fixture mode: CONTRACT.md).
//
// Every script is run as:
//   node clients/sio-<scenario>.js <url> [--transport polling|websocket|default] [--v2]
//   <url>        the server's base URL, e.g. http://127.0.0.1:PORT (path /socket.io/)
//   --transport  polling only, WebSocket only, or the default (polling, then
//                upgrade); default "default"
//   --v2         use socket.io-client 2.5.0 (Socket.IO v4 over Engine.IO v3)
//                instead of 4.8.4
// A script prints one JSON object per line on stdout, what the client saw,
// and ends with {"event":"done",...} (exit 0) or {"event":"fail",...}
// (exit 1). Every wait is bounded; the whole script gives up after BUDGET_MS.

const BUDGET_MS = 60000;
// Generous: these scripts share a 2-core CI machine with race-enabled Go
// tests, where a step has been seen to take more than 5 s.
const STEP_MS = 15000;

function parseArgs() {
  const args = process.argv.slice(2);
  const url = args.find((a) => !a.startsWith("--") && !/^(polling|websocket|default)$/.test(a));
  if (!url) {
    process.stderr.write("usage: node clients/sio-<scenario>.js <url> [--transport polling|websocket|default] [--v2]\n");
    process.exit(4);
  }
  const i = args.indexOf("--transport");
  const transport = i >= 0 ? args[i + 1] : "default";
  return { url, transport, v2: args.includes("--v2") };
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// plain turns received arguments into JSON-friendly values: binary as
// {"hex": "..."}.
function plain(v) {
  if (v === null || v === undefined) return v === undefined ? null : v;
  if (Buffer.isBuffer(v)) return { hex: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { hex: Buffer.from(new Uint8Array(v)).toString("hex") };
  if (ArrayBuffer.isView(v)) return { hex: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

function transportsOf(t) {
  if (t === "polling") return ["polling"];
  if (t === "websocket") return ["websocket"];
  return ["polling", "websocket"];
}

// open returns a socket for namespace nsp (default "/") with the options
// given, on the client selected by --v2. For v2, auth is sent as the query.
function open(args, nsp = "/", opts = {}) {
  const transports = transportsOf(args.transport);
  let socket;
  if (args.v2) {
    const io = require("socket.io-client-v2");
    const o = Object.assign({ transports, forceNew: true, reconnection: false }, opts);
    if (o.auth) {
      o.query = o.auth;
      delete o.auth;
    }
    socket = io(args.url + (nsp === "/" ? "" : nsp), o);
  } else {
    const { io } = require("socket.io-client");
    socket = io(args.url + (nsp === "/" ? "" : nsp), Object.assign({ transports, forceNew: true, reconnection: false }, opts));
  }
  // Engine-level transcript: the first transport and any upgrade.
  socket.io.on("open", () => {
    const engine = socket.io.engine;
    emit({ event: "engine-open", nsp, transport: engine.transport.name, eioSid: engine.id });
    engine.on("upgrade", (t) => emit({ event: "upgrade", nsp, transport: (t && t.name) || engine.transport.name }));
  });
  return socket;
}

// engineOf returns the Engine.IO socket under a Socket.IO socket.
function engineOf(socket) {
  return socket.io.engine;
}

// once resolves with the arguments of the next `event` on emitter, or
// rejects after STEP_MS.
function once(emitter, event, what) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${what || event}`)), STEP_MS);
    emitter.once(event, (...a) => {
      clearTimeout(t);
      resolve(a);
    });
  });
}

// ack emits event with args and resolves with the ack's arguments.
function ack(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack for ${event}`)), STEP_MS);
    socket.emit(event, ...args, (...a) => {
      clearTimeout(t);
      resolve(a);
    });
  });
}

// quiet resolves true if `event` does not fire within ms.
function quiet(emitter, event, ms = 400) {
  return new Promise((resolve) => {
    const f = () => {
      clearTimeout(t);
      resolve(false);
    };
    const t = setTimeout(() => {
      emitter.off(event, f);
      resolve(true);
    }, ms);
    emitter.once(event, f);
  });
}

// run executes the async scenario and reports done/fail.
function run(scenario) {
  const timer = setTimeout(() => {
    emit({ event: "fail", error: "budget exceeded" });
    process.exit(1);
  }, BUDGET_MS);
  scenario()
    .then((detail) => {
      emit(Object.assign({ event: "done" }, detail || {}));
      clearTimeout(timer);
      setTimeout(() => process.exit(0), 50);
    })
    .catch((err) => {
      emit({ event: "fail", error: String((err && err.stack) || err) });
      clearTimeout(timer);
      setTimeout(() => process.exit(1), 50);
    });
}

module.exports = { parseArgs, emit, plain, open, engineOf, once, ack, quiet, run, STEP_MS };
