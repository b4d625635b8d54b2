"use strict";
// sio-basic.js — one client against the fixture (CONTRACT.md) on the
// transport chosen: connect "/" with auth, the "auth" event, events and
// acks both ways with binary, then a client disconnect.
//   C->S event + ack (the JS client's first ack id is 0), binary in both
//   directions (message -> message-back, message-with-ack), the server
//   asking the client for an ack (ext:server-ack) and reporting the answer.
const lib = require("./sio-lib.js");
const args = lib.parseArgs();

lib.run(async () => {
  const s = lib.open(args, "/", { auth: { token: "abc" } });
  const auth = lib.once(s, "auth");
  await lib.once(s, "connect");
  lib.emit({ event: "connect", id: s.id, transport: lib.engineOf(s).transport.name });
  const [a] = await auth;
  lib.emit({ event: "auth", auth: lib.plain(a) });

  // C->S ack, first id 0 (SIO-ACK-04).
  const [hello] = await lib.ack(s, "ext:hello");
  lib.emit({ event: "ack", name: "ext:hello", args: [hello] });

  // Binary both ways (SIO-BIN-01..02, SIO-BIN-11).
  const back = lib.once(s, "message-back");
  s.emit("message", Buffer.from([1, 2, 3]), "x", { nested: [Buffer.from([4, 5])] });
  const mb = await back;
  lib.emit({ event: "message-back", args: lib.plain(mb) });
  const ackArgs = await lib.ack(s, "message-with-ack", 1, "2", { 3: [false] }, Buffer.from([0xff]));
  lib.emit({ event: "ack", name: "message-with-ack", args: lib.plain(ackArgs) });

  // S->C ack with binary (SIO-ACK-03 from the client side).
  s.once("q", (...qa) => {
    const cb = qa.pop();
    lib.emit({ event: "q", args: lib.plain(qa) });
    cb("answer", Buffer.from([9]));
  });
  const result = lib.once(s, "ext:server-ack-result");
  s.emit("ext:server-ack", "q", 7);
  const r = await result;
  lib.emit({ event: "ext:server-ack-result", args: lib.plain(r) });

  const [info] = await lib.ack(s, "ext:info");
  lib.emit({ event: "info", info: lib.plain(info) });
  s.disconnect();
  return { transport: lib.engineOf(s) ? lib.engineOf(s).transport && lib.engineOf(s).transport.name : null };
});
