// The edge runtime's limits on the local stack (CONTRACT "Platform limits"): a request stopped at
// 2 s of CPU answers 546 and its worker is gone; waiting is not CPU; no response started within the
// limit answers 504; a heap past 256 MB answers 546; a worker serves no request past its lifetime.
// A gateway of this test's own serves a probe function (tests/fixtures/functions/limits-probe)
// with the hosted CPU and memory limits and shorter response and lifetime limits, so the test
// takes seconds, not minutes; the stack's gateway runs the same code with HOSTED_EDGE_LIMITS.
import assert from "node:assert/strict";
import { startGateway } from "../local/gateway.ts";
import { HOSTED_EDGE_LIMITS, processCpuMs } from "../local/gateway/function-pool.ts";
import { stack } from "./_support/stack.ts";

const limits = { ...HOSTED_EDGE_LIMITS, responseStartMs: 3_000, workerLifetimeMs: 7_000 };
const gateway = await startGateway({
  port: 0,
  dbUrl: stack.db_url,
  jwtSecret: stack.jwt_secret,
  drain: false,
  functions: { functionsDir: new URL("./fixtures/functions/", import.meta.url), limits },
});

async function probe(query: string, body?: string) {
  const started = Date.now();
  const res = await fetch(`${gateway.url}/functions/v1/limits-probe?${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.service_role_key}` },
    body,
  });
  const json = await res.json();
  return {
    status: res.status,
    json,
    cpuMs: res.headers.get("x-edge-cpu-ms"),
    ms: Date.now() - started,
  };
}

Deno.test("the hosted limits are the contract's", () => {
  assert.equal(HOSTED_EDGE_LIMITS.cpuMs, 2_000);
  assert.equal(HOSTED_EDGE_LIMITS.responseStartMs, 150_000);
  assert.equal(HOSTED_EDGE_LIMITS.workerLifetimeMs, 400_000);
  assert.equal(HOSTED_EDGE_LIMITS.heapMb, 256);
});

Deno.test("a request and its body reach the function; it answers from a worker process of its own", async () => {
  const r = await probe("mode=ok", "hello");
  assert.equal(r.status, 200);
  assert.equal(r.json.body, "hello");
  assert.notEqual(r.json.pid, Deno.pid);
});

Deno.test("a function that spins is stopped at 2 s of CPU: 546 WORKER_LIMIT, its worker killed", async () => {
  const before = await probe("mode=ok");
  // The same worker takes the next request (one at a time): the spin runs in `before`'s process.
  const r = await probe("mode=spin");
  assert.equal(r.status, 546, JSON.stringify(r.json));
  assert.equal(r.json.code, "WORKER_LIMIT");
  // The process's CPU counts all its threads (V8's compiler and collector too), so it can pass
  // 2 s a little before the wall clock does: the stop is judged by the CPU it reports.
  assert.ok(Number(r.cpuMs) >= 2_000, `stopped at ${r.cpuMs} ms of CPU, before 2 s`);
  assert.ok(r.ms >= 1_500, `stopped after ${r.ms} ms of wall time: the spin ran`);
  assert.equal(await processCpuMs(before.json.pid), null, "the worker process is gone");
  const after = await probe("mode=ok");
  assert.equal(after.status, 200, "a fresh worker serves the next request");
  assert.notEqual(after.json.pid, before.json.pid);
});

Deno.test("CPU below the limit is served and measured; waiting is not CPU", async () => {
  const busy = await probe("mode=spin&ms=1200");
  assert.equal(busy.status, 200);
  assert.ok(Number(busy.cpuMs) >= 1_000 && Number(busy.cpuMs) < 2_000, `cpu ${busy.cpuMs} ms`);
  const idle = await probe("mode=sleep&ms=2500");
  assert.equal(idle.status, 200, "2.5 s of waiting costs no CPU");
  assert.ok(Number(idle.cpuMs) < 500, `cpu ${idle.cpuMs} ms while sleeping`);
});

Deno.test("no response started within the limit: 504, and the worker is killed", async () => {
  const r = await probe("mode=stall");
  assert.equal(r.status, 504, JSON.stringify(r.json));
  assert.ok(r.ms >= limits.responseStartMs, `${r.ms} ms`);
  assert.equal((await probe("mode=ok")).status, 200);
});

Deno.test("a heap past 256 MB: 546, and the next request is served", async () => {
  const r = await probe("mode=hog");
  assert.equal(r.status, 546, JSON.stringify(r.json));
  assert.equal((await probe("mode=ok")).status, 200);
});

Deno.test("a worker takes no request it could not finish before its lifetime ends", async () => {
  const first = await probe("mode=ok");
  // Lifetime 7 s, response limit 3 s: after 4 s the worker takes no new request.
  await new Promise((r) => setTimeout(r, limits.workerLifetimeMs - limits.responseStartMs + 200));
  const later = await probe("mode=ok");
  assert.equal(later.status, 200);
  assert.notEqual(later.json.pid, first.json.pid, "an old worker was retired, a new one served");
});

Deno.test("concurrent requests run in separate workers", async () => {
  const rs = await Promise.all([1, 2, 3].map(() => probe("mode=sleep&ms=300")));
  assert.deepEqual(rs.map((r) => r.status), [200, 200, 200]);
  assert.equal(new Set(rs.map((r) => r.json.pid)).size, 3);
});

Deno.test("close", async () => {
  await gateway.close();
});
