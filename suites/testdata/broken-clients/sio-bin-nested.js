// broken client: puts back only top-level placeholders of a binary packet it receives, leaving those nested in objects as placeholders (socket.io-parser reconstructPacket patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-BIN-01
// run: area:binary
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const parserPath = require.resolve("socket.io-parser", { paths: [path.join(nm, "socket.io-client")] });
const parser = require(parserPath);
const binary = require(path.join(path.dirname(parserPath), "binary.js"));
binary.reconstructPacket = function (packet, buffers) {
  packet.data = packet.data.map((v) => (v && v._placeholder === true && typeof v.num === "number" ? buffers[v.num] : v));
  delete packet.attachments;
  return packet;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
