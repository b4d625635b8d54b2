"use strict";
// sio-reconnect.js — server restart: the client connects to "/", reports
// "connect", and waits while the test closes the server and starts a new
// one on the same port; the client must see the disconnect ("transport
// close"), reconnect on its own (a new Engine.IO session and a new socket
// id, NODE-RECON-04) and work again (an ack round trip).
const lib = require("./sio-lib.js");
const args = lib.parseArgs();

lib.run(async () => {
  const s = lib.open(args, "/", { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 400, randomizationFactor: 0 });
  await lib.once(s, "connect");
  const first = s.id;
  lib.emit({ event: "connect", n: 1, id: first });
  const [reason] = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no disconnect")), 15000);
    s.once("disconnect", (...a) => {
      clearTimeout(t);
      resolve(a);
    });
  });
  lib.emit({ event: "disconnect", reason });
  s.io.on("reconnect_attempt", (n) => lib.emit({ event: "reconnect_attempt", n }));
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no reconnection")), 15000);
    s.once("connect", () => {
      clearTimeout(t);
      resolve();
    });
  });
  lib.emit({ event: "connect", n: 2, id: s.id, newId: s.id !== first });
  const [hello] = await lib.ack(s, "ext:hello");
  lib.emit({ event: "ack", args: [hello] });
  s.disconnect();
});
