"use strict";
// eio-lib.js — shared plumbing for the Engine.IO client scenario scripts
// (eio-*.js) that siospec's Go tests run against the reference server.
//
// Every script is run as: node clients/eio-<scenario>.js <url> [--v3]
//   <url>  the server's base URL, e.g. http://127.0.0.1:PORT (path /engine.io/)
//   --v3   use engine.io-client 3.5 (the one socket.io-client 2.5 depends on,
//          Engine.IO protocol v3) instead of engine.io-client 6.6 (v4).
// A script prints one JSON object per line on stdout: what the client saw
// ({"event":"open"|"message"|"upgrade"|"upgradeError"|"close"|"error"|"done"|"fail", ...}),
// and exits 0 when its scenario completed, 1 otherwise. It gives up after
// a fixed budget so that it never hangs.

const path = require("node:path");

const BUDGET_MS = 15000;

function parseArgs() {
  const args = process.argv.slice(2);
  const url = args.find((a) => !a.startsWith("--"));
  if (!url) {
    process.stderr.write("usage: node clients/eio-<scenario>.js <url> [--v3]\n");
    process.exit(4);
  }
  return { url, v3: args.includes("--v3") };
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// describe renders a message for the transcript: text as is, binary as hex.
function describe(data) {
  if (typeof data === "string") return { text: data };
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data);
  return { binary: buf.toString("hex") };
}

// connect opens an Engine.IO client socket with the given transports and
// wires the common events to the transcript.
function connect({ url, v3 }, opts) {
  let socket;
  if (v3) {
    const eio = require(path.join(__dirname, "..", "node_modules", "socket.io-client-v2", "node_modules", "engine.io-client"));
    socket = eio(url, Object.assign({ path: "/engine.io" }, opts));
  } else {
    const { Socket } = require("engine.io-client");
    socket = new Socket(url, Object.assign({ path: "/engine.io/" }, opts));
  }
  socket.on("open", () => emit({ event: "open", transport: socket.transport.name, sid: socket.id, protocol: v3 ? 3 : 4 }));
  socket.on("upgrade", (t) => emit({ event: "upgrade", transport: (t && t.name) || socket.transport.name }));
  socket.on("upgradeError", (err) => emit({ event: "upgradeError", error: String(err && err.message) }));
  socket.on("error", (err) => emit({ event: "error", error: String(err && err.message) }));
  socket.on("close", (reason) => emit({ event: "close", reason: String(reason) }));
  return socket;
}

// finish reports the outcome, closes the socket and exits once the close
// has been seen (or at once if it never comes).
function finish(socket, ok, detail) {
  emit(Object.assign({ event: ok ? "done" : "fail" }, detail || {}));
  const exit = () => process.exit(ok ? 0 : 1);
  if (socket && socket.readyState !== "closed") {
    socket.on("close", () => setImmediate(exit));
    setTimeout(exit, 1000).unref();
    socket.close();
  } else {
    exit();
  }
}

function watchdog(getSocket) {
  setTimeout(() => finish(getSocket(), false, { reason: "budget exceeded" }), BUDGET_MS).unref();
}

module.exports = { parseArgs, emit, describe, connect, finish, watchdog };
