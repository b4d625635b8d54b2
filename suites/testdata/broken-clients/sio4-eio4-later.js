// broken client: sends EIO=3 on its handshake but EIO=4 on every request after it (polling with a sid and the WebSocket) (socket.io-client 2.5.0, its engine.io-client 3.5 transports' uri patched)
// suite: sio4
// expect: SIO4-01
// run: area:connect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const eioDir = path.dirname(require.resolve("engine.io-client/package.json", { paths: [path.join(nm, "socket.io-client-v2")] }));
for (const f of ["polling.js", "websocket.js"]) {
  const T = require(path.join(eioDir, "lib/transports", f));
  const uri = T.prototype.uri;
  T.prototype.uri = function () {
    if (this.query && this.query.sid) this.query.EIO = 4;
    return uri.call(this);
  };
}
require(path.join(__dirname, "../../../testees/node/testee/sio-v2.js"));
