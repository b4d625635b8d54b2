"use strict";
// sio-recovery.js — connection state recovery (NODE-CSR) against a server
// with recovery on that emits "hello" to every new (not recovered) socket
// and, whenever a socket disconnects, "missed" 1 and 2 to the namespace.
// The client waits for "hello" (so that it holds an offset, NODE-CSR-03),
// closes its Engine.IO connection, reconnects on its own and must come back
// recovered (same socket id, socket.recovered) with both "missed" events
// delivered (NODE-CSR-04/05).
const lib = require("./sio-lib.js");
const args = lib.parseArgs();

lib.run(async () => {
  const s = lib.open(args, "/", { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200, randomizationFactor: 0 });
  const seen = [];
  s.on("hello", (...a) => seen.push({ name: "hello", args: a }));
  s.on("missed", (...a) => {
    seen.push({ name: "missed", args: a, connected: s.connected });
    lib.emit({ event: "missed", args: lib.plain(a) });
  });
  const hello = lib.once(s, "hello");
  await lib.once(s, "connect");
  const first = s.id;
  lib.emit({ event: "connect", n: 1, id: first, recovered: s.recovered });
  await hello;
  lib.emit({ event: "hello" });
  const disc = lib.once(s, "disconnect");
  s.io.engine.close(); // the server sees "transport close"
  const [reason] = await disc;
  lib.emit({ event: "disconnect", reason });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no reconnection")), 10000);
    s.once("connect", () => {
      clearTimeout(t);
      resolve();
    });
  });
  lib.emit({ event: "connect", n: 2, id: s.id, recovered: s.recovered, sameId: s.id === first });
  // The missed packets arrive before the CONNECT reply and are delivered
  // right after "connect"; give them one round trip.
  await lib.ack(s, "ping-ack");
  const missed = seen.filter((e) => e.name === "missed").map((e) => e.args[0]);
  s.disconnect();
  return { recovered: s.recovered, missed };
});
