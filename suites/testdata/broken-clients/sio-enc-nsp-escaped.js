// broken client: writes namespaces percent-encoded (encodeURI), so /s3-ns.é_1~x goes out as /s3-ns.%C3%A9_1~x (socket.io-parser Encoder patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-ENC-04
// run: area:packet
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const parserPath = require.resolve("socket.io-parser", { paths: [path.join(nm, "socket.io-client")] });
const parser = require(parserPath);
const encodeAsString = parser.Encoder.prototype.encodeAsString;
parser.Encoder.prototype.encodeAsString = function (obj) {
  const s = encodeAsString.call(this, obj);
  if (!obj.nsp || obj.nsp === "/") return s;
  return s.replace(obj.nsp, encodeURI(obj.nsp));
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
