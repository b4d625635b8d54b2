// broken client: takes an object for a placeholder only when _placeholder is its first key, so {"num":0,"_placeholder":true} stays an object (socket.io-parser reconstructPacket patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-BIN-09
// run: area:binary
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const parserPath = require.resolve("socket.io-parser", { paths: [path.join(nm, "socket.io-client")] });
const parser = require(parserPath);
const binary = require(path.join(path.dirname(parserPath), "binary.js"));
const reconstruct = binary.reconstructPacket;
const hide = (v) => {
  if (Array.isArray(v)) return v.map(hide);
  if (!v || typeof v !== "object") return v;
  if (v._placeholder === true && Object.keys(v)[0] !== "_placeholder") return { num: v.num, placeholder: true };
  const o = {};
  for (const k of Object.keys(v)) o[k] = hide(v[k]);
  return o;
};
binary.reconstructPacket = function (packet, buffers) {
  packet.data = hide(packet.data);
  return reconstruct(packet, buffers);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
