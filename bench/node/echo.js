// Echo server for bench/cmd/siobench: Node engine.io 6.6 or socket.io 4.8
// (the versions pinned in testees/node), with Node's defaults.
//
//   node --expose-gc bench/node/echo.js eio|sio
//
// Listens on 127.0.0.1 at a free port and prints "listening 127.0.0.1:PORT".
// Exits when stdin closes. GET /_bench/mem runs the garbage collector and
// answers {"heap": bytes of JS heap in use, "rss": bytes}.
//
// Engine.IO: every message is sent back as it came.
// Socket.IO ("/"): "echo" is emitted back with the same arguments; "ack"
// is acknowledged with its arguments; "join" joins room "r" and acks;
// "bcast" emits "tick" with its arguments to room "r".
'use strict';
const path = require('path');
const http = require('http');
const mods = path.join(__dirname, '..', '..', 'testees', 'node', 'node_modules');
const kind = process.argv[2];

const httpServer = http.createServer();
httpServer.on('request', (req, res) => {
  if (req.url.startsWith('/_bench/mem')) {
    if (global.gc) { global.gc(); global.gc(); }
    const m = process.memoryUsage();
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ heap: m.heapUsed + m.external + m.arrayBuffers, rss: m.rss }));
  }
});

if (kind === 'eio') {
  const engine = require(path.join(mods, 'engine.io'));
  const srv = engine.attach(httpServer);
  srv.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(data));
  });
} else if (kind === 'sio') {
  const { Server } = require(path.join(mods, 'socket.io'));
  const io = new Server(httpServer);
  io.on('connection', (socket) => {
    socket.on('echo', (...args) => socket.emit('echo', ...args));
    socket.on('ack', (...args) => {
      const cb = args.pop();
      if (typeof cb === 'function') cb(...args);
    });
    socket.on('join', (cb) => {
      socket.join('r');
      if (typeof cb === 'function') cb();
    });
    socket.on('bcast', (...args) => io.to('r').emit('tick', ...args));
  });
} else {
  console.error('usage: echo.js eio|sio');
  process.exit(4);
}

httpServer.listen(0, '127.0.0.1', () => {
  const a = httpServer.address();
  console.log(`listening ${a.address}:${a.port}`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
