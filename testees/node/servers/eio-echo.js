"use strict";
// eio-echo.js — an Engine.IO echo server for the reference client's proofs
// (reference/eioclient). Engine.IO 6.6 (v4) by default; with --engine 3 the
// engine.io 3.6 line (npm alias engine.io-v3, the engine of socket.io 2.x)
// serving EIO=3 sessions.
//
// Every message (text or binary) is sent back unchanged. Two control
// messages are answered instead of echoed:
//   "stats"  → "stats <json>": {"pings":N,"transport":"...","upgrades":N}
//              (pings = heartbeat pings received from the client, v3;
//              pongs = heartbeat pongs received from the client, v4)
//   "close"  → the server closes the session.
//
// Usage: node servers/eio-echo.js [--port 0] [--host 127.0.0.1]
//          [--engine 6|3] [--ping-interval 300] [--ping-timeout 200]
//          [--path /engine.io/]
// Prints "listening http://HOST:PORT" once listening; exits on SIGTERM/SIGINT.

const http = require("node:http");

const opts = { port: 0, host: "127.0.0.1", engine: "6", pingInterval: 300, pingTimeout: 200, path: "/engine.io/" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const next = () => {
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    return argv[++i];
  };
  switch (argv[i]) {
    case "--port": opts.port = Number(next()); break;
    case "--host": opts.host = next(); break;
    case "--engine": opts.engine = next(); break;
    case "--ping-interval": opts.pingInterval = Number(next()); break;
    case "--ping-timeout": opts.pingTimeout = Number(next()); break;
    case "--path": opts.path = next(); break;
    default: usage(`unknown flag ${argv[i]}`);
  }
}
if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("bad --port");
if (opts.engine !== "6" && opts.engine !== "3") usage("--engine must be 6 or 3");

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node eio-echo.js [--port N] [--host H] [--engine 6|3] [--ping-interval MS] [--ping-timeout MS] [--path P]\n`);
  process.exit(4);
}

const config = {
  path: opts.path,
  transports: ["polling", "websocket"],
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxHttpBufferSize: 1e6,
};
const engine = opts.engine === "6"
  ? new (require("engine.io").Server)(config)
  : new (require("engine.io-v3").Server)(config);

const httpServer = http.createServer();
engine.attach(httpServer, { path: opts.path });

engine.on("connection", (socket) => {
  const stats = { pings: 0, pongs: 0, upgrades: 0 };
  socket.on("packet", (packet) => {
    if (packet.type === "ping" && packet.data !== "probe") stats.pings++;
    if (packet.type === "pong" && packet.data !== "probe") stats.pongs++;
  });
  socket.on("upgrade", () => stats.upgrades++);
  socket.on("message", (data) => {
    if (data === "stats") {
      socket.send("stats " + JSON.stringify({ ...stats, transport: socket.transport.name }));
    } else if (data === "close") {
      socket.close();
    } else {
      socket.send(data);
    }
  });
});

httpServer.on("error", (err) => {
  process.stderr.write(`listen: ${err.message}\n`);
  process.exit(2);
});
httpServer.listen(opts.port, opts.host, () => {
  const { port } = httpServer.address();
  process.stdout.write(`listening http://${opts.host}:${port}\n`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 1000).unref();
  engine.close();
  httpServer.close(() => process.exit(0));
  if (typeof httpServer.closeAllConnections === "function") httpServer.closeAllConnections();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
