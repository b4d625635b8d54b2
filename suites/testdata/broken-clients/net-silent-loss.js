// broken client: socket.io-client 4.8.4 as shipped: emits written into a silently dead (half-open) connection are lost and their ack callbacks never fire; this is Node's own deviation (testees/node/expected-failures-client-net.txt), so nothing is patched
// suite: net
// expect: NET-HO-03
// run: req:NET-HO-03
"use strict";
const path = require("path");
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
