"use strict";
// testee.js checks the Node client testees (testee/*.js) against real Node
// servers started in this process on port 0: socket.io 4.8.4 for sio.js,
// socket.io 2.5.1 for sio-v2.js, engine.io 6.6.12 (allowEIO3) for eio.js.
// Every testee runs in its own process group (killed by -pid at the end).
//
// Usage: node selftest/testee.js             every check; exit 0 when all pass
//        node selftest/testee.js --mutants   also run broken copies of the
//                                            testees and require that each fails a check

const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");

const STEP = 3000; // bound for every single wait
const QUIET = 600; // how long "nothing happens" is waited for
const ROOT = path.join(__dirname, "..");
// The testees run with a case list of the self-test's own (SIOSPEC_CASES),
// so that the checks do not depend on the cases siospec has today.
const CASE = "selftest";
const CASES = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "siospec-selftest-")), "cases.txt");
fs.writeFileSync(CASES, ["# self-test cases", ...["sio5", "sio4", "eio4", "eio3"].map((s) => `${s} ${CASE}`)].join("\n") + "\n");
// firstListed returns a case client-cases.txt lists for suite.
const firstListed = (suite) =>
  (fs
    .readFileSync(path.join(ROOT, "..", "client-cases.txt"), "utf8")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[0] === suite && f.length === 2) || [])[1];

const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (ms, what, p) => {
  let t;
  const to = new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, to]).finally(() => clearTimeout(t));
};

function spawnTestee(dir, script, env) {
  const child = spawn(process.execPath, [path.join(dir, "testee", script)], {
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, SIOSPEC_CASES: CASES, SIOSPEC_TRANSPORTS: "polling,websocket", SIOSPEC_OPTIONS: "{}", SIOSPEC_SEED: "1", ...env },
  });
  const t = { lines: [], stderr: "", waiters: new Set() };
  let buf = "";
  child.stdout.on("data", (d) => {
    buf += d;
    for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
      const line = buf.slice(0, i);
      try {
        t.lines.push(JSON.parse(line));
      } catch {
        t.lines.push({ ev: "_not_json", line });
      }
      t.waiters.forEach((w) => w());
    }
  });
  child.stderr.on("data", (d) => (t.stderr += d));
  child.stdin.on("error", () => {});
  t.exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
  t.exitCode = async (ms = STEP) => (await within(ms, `exit of ${script}; stderr: ${t.stderr.slice(-300)}`, t.exited)).code;
  t.has = (pred) => t.lines.filter(pred);
  t.waitFor = (what, pred, ms = STEP) =>
    within(
      ms,
      `${what}; reports: ${JSON.stringify(t.lines).slice(-600)}`,
      new Promise((res) => {
        const w = () => {
          const l = t.lines.find(pred);
          if (l) t.waiters.delete(w), res(l);
        };
        t.waiters.add(w);
        w();
      }),
    );
  t.send = (obj) => child.stdin.write(JSON.stringify(obj) + "\n");
  t.eof = () => child.stdin.end();
  t.kill = () => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  };
  return t;
}

function listen(srv) {
  return new Promise((r) => srv.listen(0, "127.0.0.1", () => r(srv.address().port)));
}

// Socket.IO servers behind one interface: next(nsp) resolves to the next
// server-side socket of nsp; cmd(sock, obj) sends a command and awaits its ack.
async function sioServer(v2) {
  const httpServer = http.createServer();
  const io = v2 ? require("socket.io-v2")(httpServer) : new (require("socket.io").Server)(httpServer);
  const queues = {};
  const next = (nsp) =>
    within(STEP, `server connection on ${nsp}`, new Promise((res) => io.of(nsp).once("connection", res)));
  for (const nsp of ["/", "/admin"]) io.of(nsp).on("connection", (s) => (queues[nsp] = queues[nsp] || []).push(s));
  const port = await listen(httpServer);
  const emitAck = (sock, ...args) => within(STEP, `ack of ${args[0]}`, new Promise((res) => sock.emit(...args, (...a) => res(a))));
  return {
    url: `http://127.0.0.1:${port}/socket.io/`,
    io,
    next,
    emitAck,
    cmd: async (sock, obj) => (await emitAck(sock, "siospec", obj))[0],
    stop: () => new Promise((r) => (io.close(), httpServer.close(() => r()), httpServer.closeAllConnections && httpServer.closeAllConnections())),
  };
}

async function engineServer() {
  const { Server } = require("engine.io");
  const httpServer = http.createServer();
  const engine = new Server({ allowEIO3: true, pingInterval: 2000, pingTimeout: 2000 });
  engine.attach(httpServer, { path: "/engine.io/" });
  const port = await listen(httpServer);
  return {
    url: `http://127.0.0.1:${port}/engine.io/`,
    next: () => within(STEP, "engine connection", new Promise((res) => engine.once("connection", res))),
    stop: () => new Promise((r) => (engine.close(), httpServer.close(() => r()), httpServer.closeAllConnections())),
  };
}

function checker(label, results) {
  return async (name, fn) => {
    try {
      await fn();
      results.push({ ok: true, name, line: `PASS ${label} ${name}` });
    } catch (e) {
      results.push({ ok: false, name, line: `FAIL ${label} ${name}: ${e.message}` });
    }
  };
}

// The exit-status checks every testee shares.
async function exitChecks(dir, script, suite, other, check, url) {
  const run = async (env) => {
    const t = spawnTestee(dir, script, { SIOSPEC_URL: "http://127.0.0.1:1/", ...env });
    try {
      return await t.exitCode();
    } finally {
      t.kill();
    }
  };
  await check("exit 127 for an unknown case", async () => assert.equal(await run({ SIOSPEC_SUITE: suite, SIOSPEC_CASE: "no-such-case-7f3a" }), 127));
  await check(`exit 127 for suite ${other}`, async () => assert.equal(await run({ SIOSPEC_SUITE: other, SIOSPEC_CASE: CASE }), 127));
  await check("exit 0 on stdin EOF while connected", async () => {
    const t = spawnTestee(dir, script, { SIOSPEC_URL: url, SIOSPEC_SUITE: suite, SIOSPEC_CASE: CASE });
    try {
      await t.waitFor("open", (l) => l.ev === "open");
      t.eof();
      assert.equal(await t.exitCode(), 0);
    } finally {
      t.kill();
    }
  });
  await check("without SIOSPEC_CASES, a case client-cases.txt lists runs", async () => {
    const name = firstListed(suite);
    assert.ok(name, `client-cases.txt lists no ${suite} case`);
    const t = spawnTestee(dir, script, { SIOSPEC_URL: "http://127.0.0.1:1/", SIOSPEC_SUITE: suite, SIOSPEC_CASE: name, SIOSPEC_CASES: "" });
    try {
      await t.waitFor("ready", (l) => l.ev === "ready");
      t.eof();
      assert.equal(await t.exitCode(), 0);
    } finally {
      t.kill();
    }
  });
  await check("exit 127 for a case only SIOSPEC_CASES lists, without it", async () =>
    assert.equal(await run({ SIOSPEC_SUITE: suite, SIOSPEC_CASE: CASE, SIOSPEC_CASES: "" }), 127));
  await check("exit 1 for bad SIOSPEC_OPTIONS", async () => assert.equal(await run({ SIOSPEC_SUITE: suite, SIOSPEC_CASE: CASE, SIOSPEC_OPTIONS: "[1" }), 1));
}

async function sioChecks(dir, script, suite, results) {
  const v2 = suite === "sio4";
  const label = `${script}/${suite}`;
  const check = checker(label, results);
  const srv = await sioServer(v2);
  const env = (options) => ({ SIOSPEC_URL: srv.url, SIOSPEC_SUITE: suite, SIOSPEC_CASE: CASE, SIOSPEC_OPTIONS: JSON.stringify(options) });
  const onRoot = srv.next("/");
  const t = spawnTestee(dir, script, env({ reconnectionDelay: 100, reconnectionDelayMax: 200, bogus: 1 }));
  try {
    let root;
    await check("ready, open and connect on /", async () => {
      const ready = await t.waitFor("ready", (l) => l.ev === "ready");
      assert.match(ready.library, v2 ? /^socket\.io-client 2\.5\.0$/ : /^socket\.io-client 4\.8\.4$/);
      root = await onRoot;
      const open = await t.waitFor("open", (l) => l.ev === "open");
      assert.equal(open.sid, root.conn.id);
      const c = await t.waitFor("connect /", (l) => l.ev === "connect" && l.nsp === "/");
      assert.equal(c.id, root.id);
    });
    await check("an unknown option is reported unsupported", () => t.waitFor("unsupported bogus", (l) => l.ev === "unsupported" && l.cmd === "options" && /bogus/.test(l.message)));
    await check("a server event is reported and its ack echoed", async () => {
      const ans = await srv.emitAck(root, "hello", 1, Buffer.from([1, 2, 3]), { a: "x" });
      assert.deepEqual(ans, [1, Buffer.from([1, 2, 3]), { a: "x" }].map((v, i) => (i === 1 ? ans[1] : v)));
      assert.deepEqual(Buffer.from(ans[1]), Buffer.from([1, 2, 3]));
      const ev = await t.waitFor("event hello", (l) => l.ev === "event" && l.event === "hello");
      assert.deepEqual(ev, { ev: "event", nsp: "/", event: "hello", args: [1, { _bin: "AQID" }, { a: "x" }], ack: true });
    });
    await check("emit with ack: done, ack reported, siospec acked", async () => {
      const got = new Promise((res) => root.once("ask", (...a) => (a.pop()("pong", Buffer.from([9])), res(a))));
      assert.deepEqual(await srv.cmd(root, { cmd: "emit", event: "ask", args: [1, { _bin: "AQI=" }], ack: true, tag: "t1" }), { ok: true });
      const args = await within(STEP, "ask on the server", got);
      assert.deepEqual([args[0], Buffer.from(args[1])], [1, Buffer.from([1, 2])]);
      await t.waitFor("done t1", (l) => l.ev === "done" && l.cmd === "emit" && l.tag === "t1");
      const ack = await t.waitFor("ack t1", (l) => l.ev === "ack" && l.tag === "t1");
      assert.deepEqual(ack, { ev: "ack", nsp: "/", tag: "t1", args: ["pong", { _bin: "CQ==" }] });
    });
    await check(v2 ? "emit with timeout is unsupported" : "emit with timeout: ack_error", async () => {
      const ans = await srv.cmd(root, { cmd: "emit", event: "noack", args: [], ack: true, timeout: 200, tag: "t2" });
      if (v2) return assert.deepEqual([ans.ok, !!(await t.waitFor("unsupported t2", (l) => l.ev === "unsupported" && l.tag === "t2"))], [false, true]);
      assert.deepEqual(ans, { ok: true });
      await t.waitFor("ack_error t2", (l) => l.ev === "ack_error" && l.tag === "t2" && l.nsp === "/");
    });
    let admin;
    await check("connect a second namespace with auth", async () => {
      const onAdmin = srv.next("/admin");
      assert.deepEqual(await srv.cmd(root, { cmd: "connect", nsp: "/admin", auth: { token: "x" }, tag: "c1" }), { ok: true });
      admin = await onAdmin;
      assert.equal(v2 ? admin.handshake.query.token : admin.handshake.auth.token, "x");
      assert.equal(admin.conn.id, root.conn.id, "same Engine.IO session");
      await t.waitFor("connect /admin", (l) => l.ev === "connect" && l.nsp === "/admin");
    });
    await check("a command on /admin emits on /admin", async () => {
      const got = within(STEP, "hi on /admin", new Promise((res) => admin.once("hi", (...a) => res(a))));
      assert.deepEqual(await srv.cmd(admin, { cmd: "emit", nsp: "/admin", event: "hi", args: ["there"] }), { ok: true });
      assert.deepEqual(await got, ["there"]);
    });
    await check("disconnect /admin", async () => {
      const gone = within(STEP, "server-side disconnect", new Promise((res) => admin.once("disconnect", res)));
      assert.deepEqual(await srv.cmd(root, { cmd: "disconnect", nsp: "/admin", tag: "d1" }), { ok: true });
      assert.equal(await gone, "client namespace disconnect");
      await t.waitFor("disconnect /admin", (l) => l.ev === "disconnect" && l.nsp === "/admin" && l.reason === "io client disconnect");
    });
    await check("a command on an unknown namespace is an error", async () => {
      const ans = await srv.cmd(root, { cmd: "emit", nsp: "/nope", event: "x", args: [], tag: "e1" });
      assert.equal(ans.ok, false);
      await t.waitFor("error e1", (l) => l.ev === "error" && l.tag === "e1");
    });
    await check("an unknown command is unsupported", async () => {
      assert.equal((await srv.cmd(root, { cmd: "dance", tag: "u1" })).ok, false);
      await t.waitFor("unsupported u1", (l) => l.ev === "unsupported" && l.tag === "u1");
    });
    await check("stream: seq from 0, every 2nd with an ack, every 3rd binary; net:seq from the server reported and acked with its seq", async () => {
      const seen = [];
      const on = (...a) => {
        const ack = typeof a[a.length - 1] === "function" ? a.pop() : null;
        seen.push({ seq: a[0].seq, dir: a[0].dir, bin: a.length > 1 ? Buffer.from(a[1]) : null, ack: !!ack });
        if (ack) ack(a[0].seq);
      };
      root.on("net:seq", on);
      try {
        assert.deepEqual(await srv.cmd(root, { cmd: "stream", count: 6, interval_ms: 5, ack_every: 2, binary_every: 3, tag: "s1" }), { ok: true });
        await t.waitFor("done s1", (l) => l.ev === "done" && l.cmd === "stream" && l.tag === "s1");
        await t.waitFor("stream_done s1", (l) => l.ev === "stream_done" && l.tag === "s1" && l.count === 6);
        await t.waitFor("6 acks", () => t.has((l) => l.ev === "net_ack").length === 3);
        assert.deepEqual(seen.map((e) => [e.seq, e.dir, e.ack]), [0, 1, 2, 3, 4, 5].map((n) => [n, "up", n % 2 === 1]));
        assert.deepEqual(seen.filter((e) => e.bin).map((e) => [e.seq, e.bin.readUInt32BE(0)]), [[2, 2], [5, 5]]);
        const sent = t.has((l) => l.ev === "net_sent");
        assert.deepEqual(sent.map((l) => [l.seq, l.ack, l.bin, l.connected, typeof l.t]), [0, 1, 2, 3, 4, 5].map((n) => [n, n % 2 === 1, n % 3 === 2, true, "number"]));
        assert.deepEqual(t.has((l) => l.ev === "net_ack").map((l) => [l.seq, l.args]), [[1, [1]], [3, [3]], [5, [5]]]);
        const back = await srv.emitAck(root, "net:seq", { seq: 4, dir: "down" }, Buffer.from([0, 0, 0, 4]), "off-4");
        assert.deepEqual(back, [4]);
        const rcv = await t.waitFor("net_recv 4", (l) => l.ev === "net_recv" && l.seq === 4);
        assert.deepEqual([rcv.dir, rcv.bin, rcv.nsp], ["down", true, "/"]);
        assert.equal(t.has((l) => l.ev === "event" && l.event === "net:seq").length, 0, "net:seq is not reported as event");
      } finally {
        root.off("net:seq", on);
      }
    });
    await check("a transport close: disconnect, reconnect_attempt, reconnect", async () => {
      const again = srv.next("/");
      root.conn.close();
      await t.waitFor("disconnect transport close", (l) => l.ev === "disconnect" && l.nsp === "/" && l.reason === "transport close");
      await t.waitFor("reconnect_attempt 1", (l) => l.ev === "reconnect_attempt" && l.attempt === 1);
      await t.waitFor("reconnect 1", (l) => l.ev === "reconnect" && l.attempt === 1);
      root = await again;
      assert.equal(t.has((l) => l.ev === "open").length, 2, "a second open");
    });
    await check("close: no reconnection afterwards", async () => {
      const gone = within(STEP, "server-side disconnect", new Promise((res) => root.once("disconnect", res)));
      let again = false;
      srv.io.of("/").once("connection", () => (again = true));
      assert.deepEqual(await srv.cmd(root, { cmd: "close", tag: "x1" }), { ok: true });
      await gone;
      await t.waitFor("disconnect /", (l) => l.ev === "disconnect" && l.nsp === "/" && l.reason === "forced close");
      await delay(QUIET);
      assert.equal(t.has((l) => l.ev === "reconnect_attempt").length, 1, "no new reconnect_attempt");
      assert.equal(again, false, "no new connection");
    });
    await check("exit 0 on stdin EOF after close", async () => (t.eof(), assert.equal(await t.exitCode(), 0)));
  } finally {
    t.kill();
  }
  const onAdmin = srv.next("/admin");
  const t2 = spawnTestee(dir, script, { ...env({ namespaces: ["/admin"] }), SIOSPEC_TRANSPORTS: "websocket" });
  try {
    await check("namespaces option and websocket only; exit command", async () => {
      const admin = await onAdmin;
      assert.equal((await t2.waitFor("open", (l) => l.ev === "open")).transport, "websocket");
      await t2.waitFor("connect /admin", (l) => l.ev === "connect" && l.nsp === "/admin");
      assert.equal(t2.has((l) => l.ev === "connect" && l.nsp === "/").length, 0, "no connect on /");
      admin.emit("siospec", { cmd: "exit", code: 3, tag: "q" });
      assert.equal(await t2.exitCode(), 3);
      assert.ok(t2.has((l) => l.ev === "done" && l.cmd === "exit").length === 1, "done for exit");
    });
  } finally {
    t2.kill();
  }
  await exitChecks(dir, script, suite, v2 ? "sio5" : "sio4", check, srv.url);
  await srv.stop();
}

async function eioChecks(dir, suite, results) {
  const check = checker(`eio.js/${suite}`, results);
  const srv = await engineServer();
  const env = { SIOSPEC_URL: srv.url, SIOSPEC_SUITE: suite, SIOSPEC_CASE: CASE };
  const conn = srv.next();
  const t = spawnTestee(dir, "eio.js", env);
  const recv = (sock, n) => within(STEP, `${n} message(s) on the server`, new Promise((res) => {
    const got = [];
    const on = (m) => got.push(m) === n && (sock.off("message", on), res(got));
    sock.on("message", on);
  }));
  try {
    let sock;
    await check("ready and open", async () => {
      const ready = await t.waitFor("ready", (l) => l.ev === "ready");
      assert.equal(ready.library, suite === "eio3" ? "engine.io-client 3.5.6" : "engine.io-client 6.6.8");
      sock = await conn;
      assert.equal(sock.protocol, suite === "eio3" ? 3 : 4);
      assert.equal((await t.waitFor("open", (l) => l.ev === "open")).sid, sock.id);
    });
    await check("upgrade reported", async () => assert.equal((await t.waitFor("upgrade", (l) => l.ev === "upgrade")).transport, "websocket"));
    await check("text and binary echoed and reported", async () => {
      const got = recv(sock, 2);
      sock.send("hello");
      sock.send(Buffer.from([1, 2, 3]));
      const [a, b] = await got;
      assert.equal(a, "hello");
      assert.deepEqual(Buffer.from(b), Buffer.from([1, 2, 3]));
      await t.waitFor("message hello", (l) => l.ev === "message" && l.data === "hello");
      await t.waitFor("message bin", (l) => l.ev === "message" && l.data && l.data._bin === "AQID");
    });
    await check("send with count", async () => {
      const got = recv(sock, 3);
      sock.send('siospec:{"cmd":"send","data":{"_bin":"BAU="},"count":3,"tag":"s1"}');
      for (const m of await got) assert.deepEqual(Buffer.from(m), Buffer.from([4, 5]));
      await t.waitFor("done s1", (l) => l.ev === "done" && l.tag === "s1");
    });
    await check("an unknown command is unsupported, a bad one an error", async () => {
      sock.send('siospec:{"cmd":"emit","tag":"u1"}');
      sock.send("siospec:{nope");
      await t.waitFor("unsupported u1", (l) => l.ev === "unsupported" && l.tag === "u1");
      await t.waitFor("error", (l) => l.ev === "error" && /bad command/.test(l.message));
    });
    await check("close", async () => {
      const closed = within(STEP, "server-side close", new Promise((res) => sock.once("close", res)));
      sock.send('siospec:{"cmd":"close"}');
      await closed;
      assert.equal((await t.waitFor("close", (l) => l.ev === "close")).reason, "forced close");
    });
    await check("exit 0 on stdin EOF after close", async () => (t.eof(), assert.equal(await t.exitCode(), 0)));
  } finally {
    t.kill();
  }
  const conn2 = srv.next();
  const t2 = spawnTestee(dir, "eio.js", { ...env, SIOSPEC_TRANSPORTS: "polling" });
  try {
    await check("polling only; exit command", async () => {
      const sock = await conn2;
      await t2.waitFor("open", (l) => l.ev === "open" && l.transport === "polling");
      sock.send('siospec:{"cmd":"exit","code":4}');
      assert.equal(await t2.exitCode(), 4);
      assert.equal(t2.has((l) => l.ev === "upgrade").length, 0);
    });
  } finally {
    t2.kill();
  }
  await exitChecks(dir, "eio.js", suite, suite === "eio3" ? "sio4" : "sio5", check, srv.url);
  await srv.stop();
}

const TARGETS = {
  "sio.js": (dir, r) => sioChecks(dir, "sio.js", "sio5", r),
  "sio-v2.js": (dir, r) => sioChecks(dir, "sio-v2.js", "sio4", r),
  "eio.js": async (dir, r) => (await eioChecks(dir, "eio4", r), await eioChecks(dir, "eio3", r)),
};

// Broken copies: [target, file, from, to, a check that must fail].
const MUTANTS = [
  ["sio.js", "lib.js", /process\.exit\(127\)/, "void 0", "exit 127 for an unknown case"],
  ["eio.js", "lib.js", /process\.env\.SIOSPEC_CASES \|\| /, "", "ready and open"],
  ["sio.js", "lib.js", /if \(ack\) ack\(\.\.\.args\);/, "", "a server event is reported and its ack echoed"],
  ["sio.js", "lib.js", /process\.stdin\.on\("\w+", \(\) => process\.exit\(0\)\);/g, "", "exit 0 on stdin EOF while connected"],
  ["sio.js", "sio.js", /manager\.disconnect\(\);/, "manager.engine.close();", "close: no reconnection afterwards"],
  ["sio.js", "sio.js", /if \(!s\.active\) /, "", "a command on /admin emits on /admin"],
  ["sio-v2.js", "lib.js", /done\(\);\n    reply\(\{ ok: true \}\);/, "reply({ ok: true });", "emit with ack: done"],
  ["eio.js", "eio.js", /socket\.send\(data\);\n/, "\n", "text and binary echoed"],
  ["eio.js", "eio.js", /for \(let i = 0; i < count; i\+\+\) /, "", "send with count"],
  ["sio.js", "lib.js", /n % ackEvery === ackEvery - 1/, "n % ackEvery === 0", "stream: seq from 0"],
  ["sio-v2.js", "lib.js", /if \(ack\) ack\(p\.seq\);/, "if (ack) ack();", "stream: seq from 0"],
];

function mutant(file, from, to) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "siospec-mutant-"));
  fs.mkdirSync(path.join(dir, "node", "testee"), { recursive: true });
  for (const f of fs.readdirSync(path.join(ROOT, "testee"))) {
    let text = fs.readFileSync(path.join(ROOT, "testee", f), "utf8");
    if (f === file) {
      assert.match(text, from, `mutation of ${file} does not apply`);
      text = text.replace(from, to);
    }
    fs.writeFileSync(path.join(dir, "node", "testee", f), text);
  }
  fs.copyFileSync(path.join(ROOT, "..", "client-cases.txt"), path.join(dir, "client-cases.txt"));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node", "node_modules"));
  return path.join(dir, "node");
}

async function main() {
  // A wait started for a check that already failed may time out later.
  process.on("unhandledRejection", () => {});
  let failed = 0;
  for (const [name, run] of Object.entries(TARGETS)) {
    const results = [];
    await run(ROOT, results);
    for (const r of results) console.log(r.line), (failed += r.ok ? 0 : 1);
  }
  if (process.argv.includes("--mutants")) {
    for (const [target, file, from, to, want] of MUTANTS) {
      const dir = mutant(file, from, to);
      const results = [];
      try {
        await TARGETS[target](dir, results);
      } finally {
        fs.rmSync(path.dirname(dir), { recursive: true, force: true });
      }
      const caught = results.filter((r) => !r.ok).map((r) => r.name);
      const ok = caught.some((c) => c.includes(want));
      console.log(`${ok ? "PASS" : "FAIL"} mutant ${file} ${from} -> ${JSON.stringify(to)} fails: ${caught.join(" | ") || "nothing"}`);
      failed += ok ? 0 : 1;
    }
  }
  fs.rmSync(path.dirname(CASES), { recursive: true, force: true });
  console.log(failed ? `${failed} check(s) failed` : "all checks passed");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
