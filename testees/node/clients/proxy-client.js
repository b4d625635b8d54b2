"use strict";
// proxy-client.js — a scripted socket.io-client 4.8.4 peer for siospec's fault
// proxy proofs (faultproxy/node_test.go). It connects to a Socket.IO v5
// server that follows the FX-SIO5 contract (testees/node/fixtures/sio5.js):
// "message" is echoed back as "message-back", "message-with-ack" is acked
// with the same arguments.
//
// Usage: node clients/proxy-client.js <url> [flags]
//   --events N          events to send (default 20): even ones as
//                       "message-with-ack" (text, number, a Buffer of i
//                       bytes) awaiting the ack, odd ones as "message"
//                       awaiting "message-back"
//   --transports LIST   comma-separated, default "polling,websocket"
//   --settle MS         after connecting, send the first half of the events,
//                       wait MS (so that an upgrade can happen or fail), then
//                       send the second half (default 600)
//   --reconnects N      before sending, wait until the client has
//                       reconnected N times (default 0)
//   --budget MS         give up after MS (default 15000)
//   --reconnection-delay MS   Manager reconnectionDelay (default 200;
//                       reconnectionDelayMax is 5 x this)
//
// It prints one JSON object on stdout and exits 0 when every event got its
// answer, 1 otherwise:
//   {"ok", "results": [...answers in order...], "transport": final,
//    "transports": [...seen...], "upgrades", "upgradeErrors",
//    "disconnects": [reasons], "reconnects", "connects", "error"?}
// Binary values are rendered as {"$bin": hex} so outputs compare as text.

const { io } = require("socket.io-client");

function parseArgs() {
  const argv = process.argv.slice(2);
  const o = { url: null, events: 20, transports: ["polling", "websocket"], settle: 600, reconnects: 0, budget: 15000, delay: 200 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const num = () => {
      const v = Number(next());
      if (!Number.isInteger(v) || v < 0) usage(`${a}: want a non-negative integer`);
      return v;
    };
    switch (a) {
      case "--events": o.events = num(); break;
      case "--transports": o.transports = next().split(","); break;
      case "--settle": o.settle = num(); break;
      case "--reconnects": o.reconnects = num(); break;
      case "--budget": o.budget = num(); break;
      case "--reconnection-delay": o.delay = num(); break;
      default:
        if (a.startsWith("--") || o.url) usage(`unexpected argument ${a}`);
        o.url = a;
    }
  }
  if (!o.url) usage("missing url");
  return o;
}

function usage(msg) {
  process.stderr.write(`${msg}\nusage: node clients/proxy-client.js <url> [--events N] [--transports polling,websocket] [--settle MS] [--reconnects N] [--budget MS] [--reconnection-delay MS]\n`);
  process.exit(4);
}

function render(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v instanceof ArrayBuffer ? new Uint8Array(v) : v);
    return { $bin: b.toString("hex") };
  }
  if (Array.isArray(v)) return v.map(render);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v)) out[k] = render(v[k]);
    return out;
  }
  return v;
}

const opts = parseArgs();
const report = {
  ok: false, results: [], transport: null, transports: [], upgrades: 0, upgradeErrors: 0,
  disconnects: [], reconnects: 0, connects: 0,
};
let finished = false;

const socket = io(opts.url, {
  transports: opts.transports,
  reconnectionDelay: opts.delay,
  reconnectionDelayMax: opts.delay * 5,
  timeout: 5000,
});

function done(ok, error) {
  if (finished) return;
  finished = true;
  report.ok = ok;
  if (error) report.error = String(error);
  report.transport = socket.io.engine ? socket.io.engine.transport && socket.io.engine.transport.name : null;
  process.stdout.write(JSON.stringify(report) + "\n");
  socket.disconnect();
  setTimeout(() => process.exit(ok ? 0 : 1), 50).unref();
}

setTimeout(() => done(false, `budget of ${opts.budget} ms exceeded`), opts.budget).unref();

function watchEngine() {
  const engine = socket.io.engine;
  if (!engine || engine.__watched) return;
  engine.__watched = true;
  const seen = (name) => { if (!report.transports.includes(name)) report.transports.push(name); };
  seen(engine.transport.name);
  engine.on("upgrade", (t) => { report.upgrades++; seen(t.name); });
  engine.on("upgradeError", () => { report.upgradeErrors++; });
}

socket.io.on("open", watchEngine);
socket.io.on("reconnect", () => { report.reconnects++; });
socket.on("disconnect", (reason) => { report.disconnects.push(reason); });
socket.on("connect_error", (err) => { report.disconnects.push("connect_error: " + err.message); });

function sendOne(i) {
  const args = [i, `text-${i}`, Buffer.alloc(i % 7, i)];
  return new Promise((resolve, reject) => {
    if (i % 2 === 0) {
      socket.timeout(5000).emit("message-with-ack", ...args, (err, ...back) => {
        if (err) reject(new Error(`ack ${i}: ${err.message}`));
        else resolve({ ack: render(back) });
      });
    } else {
      const onBack = (...back) => {
        if (back[0] !== i) return; // not ours
        socket.off("message-back", onBack);
        resolve({ back: render(back) });
      };
      socket.on("message-back", onBack);
      socket.emit("message", ...args);
    }
  });
}

async function run() {
  const half = Math.floor(opts.events / 2);
  for (let i = 0; i < half; i++) report.results.push(await sendOne(i));
  await new Promise((r) => setTimeout(r, opts.settle));
  for (let i = half; i < opts.events; i++) report.results.push(await sendOne(i));
  done(true);
}

let started = false;
socket.on("connect", () => {
  report.connects++;
  watchEngine();
  if (started || report.reconnects < opts.reconnects) return;
  started = true;
  run().catch((err) => done(false, err));
});
