"use strict";
// sio-namespaces.js — namespaces and auth errors against the fixture:
// "/custom" with an auth payload (its "auth" event), an unknown namespace
// ("Invalid namespace"), and /ext-refuse whose middleware refuses with
// message "refused" and the CONNECT payload's data (SIO-CONN-05/06; on
// --v2 the ERROR packet is a string, SIO4-05). "/" and "/custom" share one
// Engine.IO session (SIO-NSP-02).
const lib = require("./sio-lib.js");
const args = lib.parseArgs();

function refused(s) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no connect_error/error")), lib.STEP_MS);
    const done = (err) => {
      clearTimeout(t);
      resolve(err);
    };
    s.once("connect_error", done);
    s.once("error", done); // socket.io-client 2.x
    s.once("connect", () => reject(new Error("connected")));
  });
}

function describeErr(err) {
  if (typeof err === "string") return { message: err };
  return { message: err && err.message, data: err && err.data === undefined ? null : lib.plain(err.data) };
}

lib.run(async () => {
  const { io } = args.v2 ? { io: null } : require("socket.io-client");
  // One manager for "/" and "/custom" (multiplexing).
  let main, custom;
  if (args.v2) {
    const io2 = require("socket.io-client-v2");
    const transports = args.transport === "default" ? ["polling", "websocket"] : [args.transport];
    main = io2(args.url, { transports, forceNew: true, reconnection: false });
    custom = main.io.socket("/custom", { query: { token: "abc" } });
    custom.open();
  } else {
    main = lib.open(args, "/");
    custom = main.io.socket("/custom", { auth: { token: "abc" } });
    custom.connect();
  }
  const cauth = lib.once(custom, "auth", "/custom auth");
  await lib.once(main, "connect");
  if (!custom.connected) await lib.once(custom, "connect");
  const [a] = await cauth;
  lib.emit({ event: "connect", nsp: "/custom", id: custom.id, mainId: main.id, auth: lib.plain(a), sameEngine: main.io === custom.io });

  const random = lib.open(args, "/random");
  lib.emit(Object.assign({ event: "refused", nsp: "/random" }, describeErr(await refused(random))));
  random.close();

  const r1 = lib.open(args, "/ext-refuse", { auth: args.v2 ? { data: "x" } : { data: { code: 1 } } });
  lib.emit(Object.assign({ event: "refused", nsp: "/ext-refuse" }, describeErr(await refused(r1))));
  r1.close();
  const r2 = lib.open(args, "/ext-refuse");
  lib.emit(Object.assign({ event: "refused", nsp: "/ext-refuse", plainRefuse: true }, describeErr(await refused(r2))));
  r2.close();

  custom.disconnect();
  main.disconnect();
});
