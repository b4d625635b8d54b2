// broken client: surfaces a binary event as soon as its header arrives, without its attachments (socket.io-client 4.8.4, Manager.ondata patched)
// suite: sio5
// expect: SIO-BIN-02
// run: case:bad-binary-truncated
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Manager } = require(path.join(nm, "socket.io-client"));
const ondata = Manager.prototype.ondata;
Manager.prototype.ondata = function (data) {
  const m = typeof data === "string" && /^5\d+-\[/.exec(data);
  if (!m) return ondata.call(this, data);
  const s = this.nsps["/"];
  if (s) s.onpacket({ type: 2, nsp: "/", data: JSON.parse(data.slice(data.indexOf("["))) });
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
