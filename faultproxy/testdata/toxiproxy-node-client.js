// Drives the fault proxy's control API with toxiproxy-node-client 4.1.0, the
// way its README does, and prints one JSON object of what each call
// returned (or the error it threw); the Go test (TestToxiproxyNodeClient)
// judges it. Usage: node toxiproxy-node-client.js API_URL PROXY NEW_UPSTREAM
// with NODE_PATH pointing at testees/node/node_modules.
"use strict";

const { Toxiproxy } = require("toxiproxy-node-client");

async function step(out, name, fn) {
  try {
    out[name] = { ok: true, value: await fn() };
  } catch (e) {
    out[name] = { ok: false, error: String((e && e.message) || e) };
  }
}

async function main() {
  const [apiURL, proxyName, newUpstream] = process.argv.slice(2);
  if (!apiURL || !proxyName || !newUpstream) {
    throw new Error("usage: toxiproxy-node-client.js API_URL PROXY NEW_UPSTREAM");
  }
  const tp = new Toxiproxy(apiURL);
  const out = {};
  await step(out, "version", () => tp.getVersion());
  await step(out, "list", async () => {
    const all = await tp.getAll();
    return Object.fromEntries(Object.entries(all).map(([n, p]) => [n, p.toJson()]));
  });
  let proxy;
  await step(out, "get", async () => {
    proxy = await tp.get(proxyName);
    return proxy.toJson();
  });
  await step(out, "update", async () => {
    const updated = await proxy.update({
      enabled: true,
      listen: "127.0.0.1:0",
      upstream: newUpstream,
    });
    proxy = updated;
    return updated.toJson();
  });
  let toxic;
  await step(out, "addToxic", async () => {
    toxic = await proxy.addToxic({
      name: "node_latency",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: 40, jitter: 0 },
    });
    return toxic.toJson();
  });
  await step(out, "getToxic", async () => (await proxy.getToxic("node_latency")).toJson());
  await step(out, "updateToxic", async () => (await toxic.update({ attributes: { latency: 70 } })).toJson());
  await step(out, "listToxics", async () => (await tp.getApi().get(`${apiURL}/proxies/${proxyName}/toxics`)).data);
  await step(out, "removeToxic", async () => {
    await toxic.remove();
    return true;
  });
  await step(out, "toxicGone", async () => {
    try {
      await proxy.getToxic("node_latency");
      return "still there";
    } catch (e) {
      return "gone: " + String((e && e.message) || e);
    }
  });
  await step(out, "disable", async () => (await proxy.update({ enabled: false })).toJson());
  await step(out, "enable", async () => (await proxy.update({ enabled: true })).toJson());
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String((e && e.stack) || e) }) + "\n");
  process.exitCode = 1;
});
