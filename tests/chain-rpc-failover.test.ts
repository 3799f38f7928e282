// CHAIN_RPC_URL with several endpoints, against the real anvil behind a small failing proxy: an
// endpoint that errors, answers 429 or 503, or hangs is skipped for the next one; an RPC error is
// an answer, not a failover; when every endpoint fails, the call throws instead of reading as
// "not mined".
import assert from "node:assert/strict";
import { JsonRpc, JsonRpcError } from "../supabase/functions/_shared/json-rpc.ts";
import { stack } from "./_support/stack.ts";

type Mode = "ok" | "429" | "503" | "hang" | "garbage";

/** A proxy in front of anvil that misbehaves as told. */
function proxy() {
  const state = { mode: "ok" as Mode, hits: 0 };
  const ac = new AbortController();
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    signal: ac.signal,
    onListen: () => {},
  }, async (req) => {
    state.hits++;
    const body = await req.text();
    switch (state.mode) {
      case "429":
        return new Response("slow down", { status: 429 });
      case "503":
        return new Response("unavailable", { status: 503 });
      case "garbage":
        return new Response("<html>gateway</html>", { status: 200 });
      case "hang":
        await new Promise((r) => setTimeout(r, 3_000));
        return new Response("late", { status: 504 });
      default: {
        const res = await fetch(stack.chain_rpc_url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json" },
        });
        return new Response(await res.text(), { status: res.status, headers: res.headers });
      }
    }
  });
  return {
    state,
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

Deno.test("a failing first endpoint is skipped for the next, for every way of failing", async () => {
  const bad = proxy();
  try {
    for (const mode of ["429", "503", "garbage", "hang"] as Mode[]) {
      bad.state.mode = mode;
      const rpc = new JsonRpc(`${bad.url}, ${stack.chain_rpc_url}`, 1_000);
      const id = await rpc.call<string>("eth_chainId");
      assert.equal(BigInt(id), BigInt(stack.chain_id), mode);
    }
  } finally {
    await bad.close();
  }
});

Deno.test("a failed endpoint rests: the next calls go straight to the healthy one", async () => {
  const bad = proxy();
  try {
    bad.state.mode = "503";
    const rpc = new JsonRpc(`${bad.url},${stack.chain_rpc_url}`);
    await rpc.call("eth_blockNumber");
    const hits = bad.state.hits;
    for (let i = 0; i < 5; i++) await rpc.call("eth_blockNumber");
    assert.equal(bad.state.hits, hits, "no call went to the resting endpoint");
  } finally {
    await bad.close();
  }
});

Deno.test("an RPC error is an answer, not a failover; every endpoint down throws, never 'not mined'", async () => {
  const a = proxy();
  const b = proxy();
  try {
    const rpc = new JsonRpc(`${a.url},${b.url}`, 1_000);
    await assert.rejects(rpc.call("no_such_method"), JsonRpcError);
    assert.equal(a.state.hits, 1, "the JSON-RPC error came from the first endpoint and stood");
    assert.equal(b.state.hits, 0);
    a.state.mode = "503";
    b.state.mode = "429";
    const hash = "0x" + "ab".repeat(32);
    await assert.rejects(
      rpc.call("eth_getTransactionReceipt", [hash]),
      "no receipt is ever invented",
    );
  } finally {
    await a.close();
    await b.close();
  }
});
