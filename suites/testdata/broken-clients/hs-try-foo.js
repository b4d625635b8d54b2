// broken client: tries every advertised upgrade, the unknown "foo" included (a GET with transport=foo)
// suite: eio4
// expect: EIO-HS-12
// run: case:hs-extra-keys || case:hs-unknown-upgrade
"use strict";
const path = require("path");
const http = require("http");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const filter = eio.Socket.prototype._filterUpgrades;
eio.Socket.prototype._filterUpgrades = function (upgrades) {
  const kept = filter.call(this, upgrades);
  for (const name of upgrades) {
    if (kept.includes(name)) continue;
    const q = new URLSearchParams({ EIO: "4", transport: name, sid: this.id });
    http.get({ host: this.opts.hostname, port: this.opts.port, path: `${this.opts.path}?${q}` }, (res) => res.resume()).on("error", () => {});
  }
  return kept;
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
