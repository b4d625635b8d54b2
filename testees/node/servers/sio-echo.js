"use strict";
// sio-echo.js — a socket.io 4.8 server for the reference Socket.IO client's
// proofs (reference/sioclient).
//
// Namespaces "/", "/custom" and "/admin" (the last one refuses a handshake
// whose auth.token is not "secret" with Error("not authorized") and
// data {"reason":"bad token"}) all answer these events:
//   "echo"          (...args)          → emits "echo" with the same args
//   "echo-ack"      (...args, ack)     → ack(...args)
//   "no-ack"        (..., ack)         → never acks
//   "whoami"        (ack)              → ack({id, transport, recovered, auth})
//   "ask"           ({timeout, args})  → emits "question" ...args with an ack
//                                        and that timeout; then emits
//                                        "answer" {ok: [...]} or {error: msg}
//   "flaky"         (n, ack)           → acks {attempts} only from the n-th
//                                        receipt on (per socket)
//   "disconnect-me" ()                 → socket.disconnect() (namespace)
//   "close-me"      ()                 → closes the Engine.IO connection
//   "drop-me"       ()                 → joins room "r", closes the Engine.IO
//                                        connection; while the client is
//                                        away the server emits "missed" 1 and
//                                        "missed" 2 to room "r" (for CSR)
// On connection every socket gets "welcome" {id, recovered}.
//
// Usage: node servers/sio-echo.js [--port 0] [--host 127.0.0.1]
//          [--ping-interval 1000] [--ping-timeout 1000] [--csr]
// Prints "listening http://HOST:PORT" once listening; exits on SIGTERM/SIGINT.

const http = require("node:http");
const { Server } = require("socket.io");

const opts = { port: 0, host: "127.0.0.1", pingInterval: 1000, pingTimeout: 1000, csr: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const next = () => {
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    return argv[++i];
  };
  switch (argv[i]) {
    case "--port": opts.port = Number(next()); break;
    case "--host": opts.host = next(); break;
    case "--ping-interval": opts.pingInterval = Number(next()); break;
    case "--ping-timeout": opts.pingTimeout = Number(next()); break;
    case "--csr": opts.csr = true; break;
    default: usage(`unknown flag ${argv[i]}`);
  }
}
if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("bad --port");

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node sio-echo.js [--port N] [--host H] [--ping-interval MS] [--ping-timeout MS] [--csr]\n`);
  process.exit(4);
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  connectionStateRecovery: opts.csr ? { maxDisconnectionDuration: 60000 } : undefined,
});

io.of("/admin").use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") return next();
  const err = new Error("not authorized");
  err.data = { reason: "bad token" };
  next(err);
});

for (const name of ["/", "/custom", "/admin"]) {
  const nsp = io.of(name);
  nsp.on("connection", (socket) => {
    let flaky = 0;
    socket.emit("welcome", { id: socket.id, recovered: socket.recovered });
    socket.on("echo", (...args) => {
      if (typeof args[args.length - 1] === "function") args.pop();
      socket.emit("echo", ...args);
    });
    socket.on("echo-ack", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
    socket.on("no-ack", () => {});
    socket.on("whoami", (ack) => {
      ack({ id: socket.id, transport: socket.conn.transport.name, recovered: socket.recovered, auth: socket.handshake.auth });
    });
    socket.on("ask", ({ timeout, args }) => {
      socket.timeout(timeout).emit("question", ...(args || []), (err, ...resp) => {
        socket.emit("answer", err ? { error: err.message } : { ok: resp });
      });
    });
    socket.on("flaky", (n, ack) => {
      flaky++;
      if (flaky >= n && typeof ack === "function") ack({ attempts: flaky });
    });
    socket.on("disconnect-me", () => socket.disconnect());
    socket.on("close-me", () => socket.conn.close());
    socket.on("drop-me", () => {
      socket.join("r");
      socket.on("disconnect", () => {
        nsp.to("r").emit("missed", 1);
        nsp.to("r").emit("missed", 2);
      });
      socket.conn.close();
    });
  });
}

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
  io.close();
  httpServer.close(() => process.exit(0));
  if (typeof httpServer.closeAllConnections === "function") httpServer.closeAllConnections();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
