// broken client: writes the main namespace out as "/," in every packet (socket.io-parser Encoder patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-ENC-03
// run: area:packet && !req:EIO-PKT-01 && !req:EIO-PKT-02 && !req:EIO-PKT-04 && !req:EIO-PKT-07
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const parser = require(require.resolve("socket.io-parser", { paths: [path.join(nm, "socket.io-client")] }));
const encodeAsString = parser.Encoder.prototype.encodeAsString;
parser.Encoder.prototype.encodeAsString = function (obj) {
  const s = encodeAsString.call(this, obj);
  if (obj.nsp && obj.nsp !== "/") return s;
  const m = /^\d(\d+-)?/.exec(s);
  return m[0] + "/," + s.slice(m[0].length);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
