"use strict";
// sio5-csr.js — FX-SIO5 plus the extended contract on socket.io 4.8.4 with
// connection state recovery turned on (connectionStateRecovery: {}), for the
// NODE-CSR specs of suites/socketio (run by suites/csr_test.go). It reuses the fixtures' own handlers
// from testees/node/fixtures/lib.js; only the recovery option differs.
//
// Usage: node suites/testdata/sio5-csr.js [--port 0] [--host 127.0.0.1] [--ping-interval MS] [--ping-timeout MS] [--connect-timeout MS]

const path = require("node:path");
const root = path.join(__dirname, "..", "..", "testees", "node");
const { Server } = require(path.join(root, "node_modules", "socket.io"));
const lib = require(path.join(root, "fixtures", "lib.js"));

const opts = lib.parseArgs(process.argv.slice(2));

lib.serve(opts, (httpServer) => {
  const io = new Server(httpServer, {
    path: "/socket.io/",
    serveClient: false,
    transports: ["polling", "websocket"],
    pingInterval: opts.pingInterval,
    pingTimeout: opts.pingTimeout,
    maxHttpBufferSize: lib.MAX_PAYLOAD,
    connectTimeout: opts.connectTimeout,
    cors: { origin: "*" },
    connectionStateRecovery: {},
  });
  io.on("connection", (socket) => {
    lib.installOfficial(socket);
    lib.installExtended(socket, () => {});
  });
  io.of("/custom").on("connection", (socket) => {
    socket.emit("auth", lib.authOf(socket));
  });
  return () => io.close();
});
