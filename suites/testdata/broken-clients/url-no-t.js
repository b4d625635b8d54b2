// broken client: sends no cache-buster t on its polling requests
// suite: eio4
// expect: EIO-URL-07
// run: case:url-eio || case:url-transport || case:url-sid || case:url-cache-buster
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const createUri = eio.Transport.prototype.createUri;
eio.Transport.prototype.createUri = function (schema, query) {
  const q = { ...query };
  delete q.t;
  return createUri.call(this, schema, q);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
