// broken client: a v3 (socket.io-client 2.x) engine that sends EIO=4 on every request after the handshake
// suite: sio4
// expect: EIO3-01
// run: case:url-eio || case:url-transport || case:url-sid || case:url-cache-buster
"use strict";
const path = require("path");
const parseqs = require(path.join(__dirname, "../../../testees/node/node_modules/parseqs"));

const encode = parseqs.encode;
parseqs.encode = function (obj) {
  return encode.call(this, obj && obj.sid ? { ...obj, EIO: 4 } : obj);
};
require(path.join(__dirname, "../../../testees/node/testee/sio-v2.js"));
