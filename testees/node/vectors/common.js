"use strict";
// Helpers shared by the vector generators. Everything here is deterministic:
// no clocks, no randomness, stable key order.

const fs = require("node:fs");
const path = require("node:path");

// repoRoot is the siospec module root (testees/node/vectors -> ../../..).
const repoRoot = path.resolve(__dirname, "..", "..", "..");

// bytes returns a Buffer of n bytes whose value is (start + i) mod 256.
function bytes(n, start = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (start + i) & 0xff;
  return b;
}

function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function toB64(v) {
  if (Buffer.isBuffer(v)) return v.toString("base64");
  if (v instanceof ArrayBuffer) return Buffer.from(v).toString("base64");
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

// writeCases writes an array of cases as JSON: one case per line, each line
// compact (JSON.stringify), so that raw JSON values inside a case keep the
// exact text Node produced and diffs stay one line per case.
function writeCases(relPath, cases) {
  const ids = new Set();
  for (const c of cases) {
    const key = c.id + " " + c.name;
    if (ids.has(key)) throw new Error("duplicate case " + key);
    ids.add(key);
  }
  const file = path.join(repoRoot, relPath);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const body = "[\n" + cases.map((c) => JSON.stringify(c)).join(",\n") + "\n]\n";
  fs.writeFileSync(file, body);
  process.stdout.write(`wrote ${relPath}: ${cases.length} cases\n`);
}

module.exports = { repoRoot, bytes, isBinary, toB64, writeCases };
