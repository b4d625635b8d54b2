// broken client: writes an event with an ack id on a namespace without the comma after the namespace (2/admin5[...]) (socket.io-parser Encoder patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-ENC-02
// run: area:packet
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const parserPath = require.resolve("socket.io-parser", { paths: [path.join(nm, "socket.io-client")] });
const parser = require(parserPath);
const encodeAsString = parser.Encoder.prototype.encodeAsString;
parser.Encoder.prototype.encodeAsString = function (obj) {
  const s = encodeAsString.call(this, obj);
  if (obj.type !== 2 || !obj.nsp || obj.nsp === "/" || obj.id === undefined) return s;
  return s.replace(obj.nsp + ",", obj.nsp);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
