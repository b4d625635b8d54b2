"use strict";
// eio-order.js — 200 messages in order across the upgrade: from open the
// client sends c0..c199, a few every 2 ms, while the default
// polling→WebSocket upgrade runs; the server (asked with ?pair=1) echoes
// each c<i> and follows it with s<i> of its own. The client checks that
// both sequences arrive complete and in order, and that it upgraded.
const lib = require("./eio-lib.js");
const args = lib.parseArgs();
const N = 200;
const socket = lib.connect(args, { query: { pair: "1" } });
lib.watchdog(() => socket);
let nextC = 0;
let nextS = 0;
let upgraded = false;
let bad = null;
const transports = {};
socket.on("upgrade", () => {
  upgraded = true;
});
socket.on("open", () => {
  // Spread the sends over the upgrade window.
  let i = 0;
  const tick = () => {
    for (let k = 0; k < 5 && i < N; k++, i++) socket.send("c" + i);
    if (i < N) setTimeout(tick, 2);
  };
  tick();
});
socket.on("message", (data) => {
  transports[socket.transport.name] = (transports[socket.transport.name] || 0) + 1;
  if (typeof data !== "string") bad = bad || "binary message";
  else if (data[0] === "c") {
    if (data !== "c" + nextC) bad = bad || `echo ${data}, want c${nextC}`;
    nextC++;
  } else if (data[0] === "s") {
    if (data !== "s" + nextS) bad = bad || `server message ${data}, want s${nextS}`;
    nextS++;
  }
  if (nextC === N && nextS === N) {
    lib.finish(socket, !bad && upgraded, { echoes: nextC, server: nextS, upgraded, transports, error: bad });
  }
});
