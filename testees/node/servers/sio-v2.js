"use strict";
// sio-v2.js — a socket.io 2.5.1 server (npm alias socket.io-v2, Engine.IO v3)
// for the reference Socket.IO client's protocol v4 proofs
// (reference/sioclient).
//
// Namespaces "/" and "/admin" (the latter refuses a connection whose query
// token is not "secret" with Error("not authorized"), sent as
// 44/admin,"not authorized") answer:
//   "echo"      (...args)      → emits "echo" with the same args
//   "echo-ack"  (...args, ack) → ack(...args)
//   "whoami"    (ack)          → ack({id, query, transport})
//   "ask"       ({args})       → emits "question" ...args with an ack, then
//                                "answer" {ok: [...]}
//
// Usage: node servers/sio-v2.js [--port 0] [--host 127.0.0.1]
//          [--ping-interval 1000] [--ping-timeout 1000]
// Prints "listening http://HOST:PORT" once listening; exits on SIGTERM/SIGINT.

const http = require("node:http");

const opts = { port: 0, host: "127.0.0.1", pingInterval: 1000, pingTimeout: 1000 };
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
    default: usage(`unknown flag ${argv[i]}`);
  }
}
if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage("bad --port");

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node sio-v2.js [--port N] [--host H] [--ping-interval MS] [--ping-timeout MS]\n`);
  process.exit(4);
}

const httpServer = http.createServer();
const io = require("socket.io-v2")(httpServer, {
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  serveClient: false,
});

io.of("/admin").use((socket, next) => {
  if (socket.handshake.query.token === "secret") return next();
  next(new Error("not authorized"));
});

for (const name of ["/", "/admin"]) {
  io.of(name).on("connection", (socket) => {
    socket.on("echo", (...args) => {
      if (typeof args[args.length - 1] === "function") args.pop();
      socket.emit("echo", ...args);
    });
    socket.on("echo-ack", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
    socket.on("whoami", (ack) => {
      ack({ id: socket.id, query: socket.handshake.query, transport: socket.conn.transport.name });
    });
    socket.on("ask", ({ args }) => {
      socket.emit("question", ...(args || []), (...resp) => socket.emit("answer", { ok: resp }));
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
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
