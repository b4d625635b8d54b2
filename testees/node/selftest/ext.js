"use strict";
// ext.js checks the extended fixture contract (CONTRACT.md) with the real
// Node clients: socket.io-client 4.8.4 against fixtures/sio5.js and
// socket.io-client 2.5.0 against fixtures/sio4.js, over each transport.
// It starts every fixture itself on port 0 and stops it by PID.
//
// Usage: node selftest/ext.js        (exit 0 when every check passes)

const assert = require("node:assert/strict");
const path = require("node:path");
const { spawn } = require("node:child_process");

const STEP_MS = 3000; // bound for every single wait
const QUIET_MS = 400; // how long "no answer" is waited for

function startFixture(name, args = []) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "..", "fixtures", name + ".js"), "--port", "0", ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`${name}: no readiness line`)), 5000);
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /^listening (\S+)\n/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop: () => stopChild(child) });
      }
    });
    child.on("exit", (code) => reject(new Error(`${name} exited early with ${code}`)));
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.kill("SIGTERM");
  });
}

function within(ms, what, fn) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    fn(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

// Client adapters: the same calls over the v4.x and v2.x client APIs.
function v5Client(url, nsp, transports, auth) {
  const { io } = require("socket.io-client");
  return io(url + nsp, { transports, forceNew: true, reconnection: false, auth, timeout: STEP_MS });
}

function v2Client(url, nsp, transports, auth) {
  const io = require("socket.io-client-v2");
  return io(url + nsp, { transports, forceNew: true, reconnection: false, query: auth, timeout: STEP_MS });
}

const connect = (s) =>
  within(STEP_MS, "connect", (ok, fail) => {
    s.once("connect", ok);
    s.once("connect_error", fail);
  });

const emitAck = (s, ...args) => within(STEP_MS, `ack of ${args[0]}`, (ok) => s.emit(...args, (...ans) => ok(ans)));
const next = (s, event) => within(STEP_MS, `event ${event}`, (ok) => s.once(event, (...a) => ok(a)));

async function suite(label, fixture, makeClient, transports, v2) {
  const results = [];
  const check = async (name, fn) => {
    try {
      await fn();
      results.push(`PASS ${label} ${name}`);
    } catch (e) {
      results.push(`FAIL ${label} ${name}: ${e.message}`);
    }
  };
  const fx = await startFixture(fixture);
  const sockets = [];
  const client = (nsp = "/", auth) => {
    const s = makeClient(fx.url, nsp, transports, auth);
    sockets.push(s);
    return s;
  };
  try {
    const a = client();
    const b = client();
    await Promise.all([connect(a), connect(b)]);

    await check("ext:hello acks {extended:1}", async () => {
      assert.deepEqual(await emitAck(a, "ext:hello"), [{ extended: 1 }]);
    });

    await check("ext:info", async () => {
      const [info] = await emitAck(a, "ext:info");
      assert.equal(info.nsp, "/");
      assert.equal(info.id, a.id);
      assert.equal(info.eioProtocol, v2 ? 3 : 4);
      assert.deepEqual(info.rooms, []);
      if (!v2) assert.notEqual(info.id, info.eioSid, "SIO sid separate from EIO sid");
    });

    await check("ext:emit-back in order with binary args", async () => {
      const got = [];
      for (const n of ["e0", "e1", "e2"]) a.once(n, (...args) => got.push([n, ...args]));
      const ans = await emitAck(a, "ext:emit-back", ["e0", "e1", "e2"], 1, { x: [true] }, Buffer.from([1, 2, 3]));
      assert.deepEqual(ans, [3]);
      assert.equal(got.length, 3);
      for (let i = 0; i < 3; i++) {
        assert.equal(got[i][0], "e" + i);
        assert.deepEqual(got[i].slice(1, 3), [1, { x: [true] }]);
        assert.deepEqual(Buffer.from(got[i][3]), Buffer.from([1, 2, 3]));
      }
    });

    await check("ext:join / ext:leave report rooms", async () => {
      assert.deepEqual(await emitAck(a, "ext:join", "r1"), [["r1"]]);
      assert.deepEqual(await emitAck(a, "ext:join", ["r2", "r3"]), [["r1", "r2", "r3"]]);
      assert.deepEqual(await emitAck(a, "ext:leave", ["r2", "r3"]), [["r1"]]);
      assert.deepEqual(await emitAck(b, "ext:join", "r1"), [["r1"]]);
    });

    await check("ext:broadcast to a room excludes the sender", async () => {
      let aGot = 0;
      const onA = () => aGot++;
      a.on("bc", onA);
      const bGot = next(b, "bc");
      assert.deepEqual(await emitAck(a, "ext:broadcast", { room: "r1" }, "bc", 42, "x"), []);
      assert.deepEqual(await bGot, [42, "x"]);
      // Anything sent to a before this sentinel would have arrived first.
      await emitAck(a, "ext:emit-back", ["sentinel"]);
      a.off("bc", onA);
      assert.equal(aGot, 0);
    });

    await check("ext:broadcast to everyone with includeSelf", async () => {
      const aGot = next(a, "all");
      const bGot = next(b, "all");
      await emitAck(a, "ext:broadcast", { includeSelf: true }, "all", 1);
      assert.deepEqual(await aGot, [1]);
      assert.deepEqual(await bGot, [1]);
    });

    await check("ext:broadcast to everyone except the sender", async () => {
      let aGot = 0;
      const onA = () => aGot++;
      a.on("all2", onA);
      const bGot = next(b, "all2");
      await emitAck(a, "ext:broadcast", {}, "all2", "y");
      assert.deepEqual(await bGot, ["y"]);
      await emitAck(a, "ext:emit-back", ["sentinel"]);
      a.off("all2", onA);
      assert.equal(aGot, 0);
    });

    await check("ext:leave then broadcast to the room misses the leaver", async () => {
      assert.deepEqual(await emitAck(b, "ext:leave", "r1"), [[]]);
      let bGot = 0;
      const onB = () => bGot++;
      b.on("bc2", onB);
      await emitAck(a, "ext:broadcast", { room: "r1", includeSelf: true }, "bc2");
      await next(a, "bc2").catch(() => {});
      await emitAck(b, "ext:emit-back", ["sentinel"]);
      b.off("bc2", onB);
      assert.equal(bGot, 0);
    });

    await check("ext:server-ack reports the client's answer", async () => {
      b.once("question", (x, y, cb) => {
        assert.deepEqual([x, y], [1, "2"]);
        cb("answer", Buffer.from([9, 8]));
      });
      const result = next(b, "ext:server-ack-result");
      b.emit("ext:server-ack", "question", 1, "2");
      const [ans, buf] = await result;
      assert.equal(ans, "answer");
      assert.deepEqual(Buffer.from(buf), Buffer.from([9, 8]));
    });

    await check("/ext-refuse refuses with message and data", async () => {
      const r = client("/ext-refuse", v2 ? { data: "why" } : { data: { code: 4001 } });
      if (v2) {
        assert.equal((await next(r, "error"))[0], "why");
      } else {
        const [err] = await next(r, "connect_error");
        assert.equal(err.message, "refused");
        assert.deepEqual(err.data, { code: 4001 });
      }
    });

    await check("/ext-refuse without data", async () => {
      const r = client("/ext-refuse");
      if (v2) {
        assert.equal((await next(r, "error"))[0], "refused");
      } else {
        const [err] = await next(r, "connect_error");
        assert.equal(err.message, "refused");
        assert.equal(err.data, undefined);
      }
    });

    await check("ext:disconnect ends the namespace", async () => {
      const d = next(b, "disconnect");
      b.emit("ext:disconnect");
      assert.equal((await d)[0], "io server disconnect");
    });

    await check("ext:disconnect true closes the session", async () => {
      const c = client();
      await connect(c);
      const engine = c.io.engine;
      const closed = within(STEP_MS, "engine close", (ok) => engine.once("close", (reason) => ok(reason)));
      const d = next(c, "disconnect");
      c.emit("ext:disconnect", true);
      assert.equal((await d)[0], "io server disconnect");
      await closed;
    });
  } finally {
    for (const s of sockets) s.close();
    const { code, signal } = await fx.stop();
    results.push(`${code === 0 ? "PASS" : "FAIL"} ${label} fixture exits cleanly on SIGTERM (code ${code}, signal ${signal})`);
  }

  // Without the extended contract, ext:hello is never acknowledged.
  const plain = await startFixture(fixture, ["--no-ext"]);
  const s = makeClient(plain.url, "/", transports);
  try {
    await connect(s);
    await check("--no-ext: ext:hello is never acknowledged", async () => {
      let acked = false;
      s.emit("ext:hello", () => {
        acked = true;
      });
      await emitAck(s, "message-with-ack", "sync"); // ordered after ext:hello
      await new Promise((r) => setTimeout(r, QUIET_MS));
      assert.equal(acked, false);
    });
  } finally {
    s.close();
    await plain.stop();
  }
  return results;
}

async function main() {
  const runs = [
    ["sio5/websocket", "sio5", v5Client, ["websocket"], false],
    ["sio5/polling", "sio5", v5Client, ["polling"], false],
    ["sio4/websocket", "sio4", v2Client, ["websocket"], true],
    ["sio4/polling", "sio4", v2Client, ["polling"], true],
  ];
  let failed = 0;
  for (const run of runs) {
    const results = await suite(...run);
    for (const line of results) {
      if (line.startsWith("FAIL")) failed++;
      process.stdout.write(line + "\n");
    }
  }
  process.stdout.write(failed ? `${failed} FAILED\n` : "all passed\n");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`selftest: ${e.stack}\n`);
  process.exit(2);
});
