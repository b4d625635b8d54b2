// broken client: asks for transport=polling on its WebSocket upgrade request
// suite: eio4
// expect: EIO-URL-04
// run: case:url-eio || case:url-transport || case:url-sid || case:url-cache-buster
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const createUri = eio.Transport.prototype.createUri;
eio.NodeWebSocket.prototype.createUri = function (schema, query) {
  return createUri.call(this, schema, { ...query, transport: "polling" });
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
