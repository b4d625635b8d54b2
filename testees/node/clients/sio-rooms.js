"use strict";
// sio-rooms.js — rooms and broadcast across three clients A, B, C on the
// fixture: A and B join r1, B and C join r2; then
//   A: ext:broadcast {room:"r1"} "to-r1"           -> B only (sender left out)
//   C: ext:broadcast {room:["r1","r2"],includeSelf:true} "to-both" -> A, B, C once each
//   B: ext:broadcast {} "to-all"                    -> A and C
//   A: ext:leave "r1", then C: ext:broadcast {room:"r1"} "after-leave" -> B only
// Each client reports every broadcast event it received.
const lib = require("./sio-lib.js");
const args = lib.parseArgs();

lib.run(async () => {
  const names = ["A", "B", "C"];
  const socks = {};
  const got = { A: [], B: [], C: [] };
  for (const n of names) {
    const s = lib.open(args, "/");
    for (const ev of ["to-r1", "to-both", "to-all", "after-leave"]) {
      s.on(ev, (...a) => {
        got[n].push(ev);
        lib.emit({ event: "received", client: n, name: ev, args: lib.plain(a) });
      });
    }
    await lib.once(s, "connect");
    socks[n] = s;
  }
  const join = async (n, room) => lib.emit({ event: "joined", client: n, rooms: (await lib.ack(socks[n], "ext:join", room))[0] });
  await join("A", "r1");
  await join("B", ["r1", "r2"]);
  await join("C", "r2");
  await lib.ack(socks.A, "ext:broadcast", { room: "r1" }, "to-r1", 1);
  await lib.ack(socks.C, "ext:broadcast", { room: ["r1", "r2"], includeSelf: true }, "to-both", Buffer.from([7]));
  await lib.ack(socks.B, "ext:broadcast", {}, "to-all");
  lib.emit({ event: "left", client: "A", rooms: (await lib.ack(socks.A, "ext:leave", "r1"))[0] });
  await lib.ack(socks.C, "ext:broadcast", { room: "r1" }, "after-leave");
  // Every recipient's packet is written before the ack; a final round
  // trip on each client makes sure it has been read.
  for (const n of names) await lib.ack(socks[n], "ext:hello");
  for (const n of names) socks[n].disconnect();
  return { got };
});
