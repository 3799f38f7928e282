// Nodes limit how many calls one JSON-RPC batch may carry (geth --rpc.batch-request-limit, 1000 by
// default; Alchemy 1000; Polygon's bor 100) and answer a larger batch with one error for all of
// it. The functions batch broadcasts, receipt polls, gas estimates and the reconciler's chain view
// by the hundred: against such a node every run failed ("unreadable batch") and transfers stayed
// signed but unsent. Real anvil behind local/stack/chain-proxy.ts refusing batches over a limit.
import assert from "node:assert/strict";
import { Wallet } from "ethers";
import { startChainProxy } from "../local/stack/chain-proxy.ts";
import { chainView } from "../supabase/functions/_shared/chain.ts";
import { BatchTooLargeError, type Call, JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";
import { handle as distributeTokens } from "../supabase/functions/distribute-tokens/handler.ts";
import { db, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chain,
  chargeSuccess,
  invest,
  newInvestor,
  sendWebhook,
  status,
  tokenInvariants,
} from "./_support/tokens.ts";

const sql = db();
const wallet = new Wallet(stack.treasury_private_key);

/** n receipt lookups, every other one for a transaction on the chain, the rest for none. */
async function receiptCalls(n: number): Promise<Call[]> {
  const known: string[] = [];
  for (let b = Number(BigInt(await chain.call<string>("eth_blockNumber"))); b >= 0; b--) {
    const block = await chain.call<{ transactions: string[] }>("eth_getBlockByNumber", [
      "0x" + b.toString(16),
      false,
    ]);
    known.push(...block.transactions);
    if (known.length >= n / 2) break;
  }
  return Array.from({ length: n }, (_, i) => ({
    method: "eth_getTransactionReceipt",
    params: [
      i % 2 === 0 && known.length
        ? known[(i / 2) % known.length]
        : "0x" + (i + 1).toString(16).padStart(64, "0"),
    ],
  }));
}

Deno.test("a batch over the node's limit is refused as too large; batches() sends it in halves and keeps the smaller limit", async () => {
  const proxy = startChainProxy(stack.chain_rpc_url);
  try {
    proxy.setMode("batch_limit:7");
    const calls = await receiptCalls(30);
    const direct = await chain.batch(calls);
    const limited = new JsonRpc(proxy.url, 5_000, 100);
    await assert.rejects(limited.batch(calls), (e) => {
      assert.ok(e instanceof BatchTooLargeError, String(e));
      assert.match(e.message, /batch of 30 calls was refused as too large: batch too large/);
      return true;
    });
    const { results } = await limited.batches(calls);
    assert.deepEqual(results, direct);
    assert.ok(limited.batchLimit <= 7, `limit ${limited.batchLimit}`);
    // At the limit the client has learnt, the same answers again.
    assert.deepEqual((await limited.batches(calls.slice(0, 7))).results, direct.slice(0, 7));
  } finally {
    await proxy.close();
  }
});

Deno.test("a node that refuses even one call beside the per-batch ones: an error, not an endless halving", async () => {
  const proxy = startChainProxy(stack.chain_rpc_url);
  try {
    proxy.setMode("batch_limit:1");
    const rpc = new JsonRpc(proxy.url, 5_000);
    const calls = await receiptCalls(6);
    await assert.rejects(
      rpc.batches(calls, [{ method: "eth_blockNumber", params: [] }]),
      BatchTooLargeError,
    );
    // Without per-batch calls, one call a batch goes through.
    assert.deepEqual((await rpc.batches(calls)).results, await chain.batch(calls));
  } finally {
    await proxy.close();
  }
});

Deno.test("a batch too large for the first endpoint is answered by the next", async () => {
  const proxy = startChainProxy(stack.chain_rpc_url);
  try {
    proxy.setMode("batch_limit:2");
    const calls = await receiptCalls(5);
    const both = new JsonRpc(`${proxy.url},${stack.chain_rpc_url}`, 5_000);
    assert.deepEqual(await both.batch(calls), await chain.batch(calls));
  } finally {
    await proxy.close();
  }
});

/** A node in front of anvil whose answers to a batch pass through `rewrite` first. */
function rewritingNode(rewrite: (answers: { id: unknown }[]) => unknown) {
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen: () => {} },
    async (req) => {
      const res = await fetch(stack.chain_rpc_url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: await req.text(),
      });
      return Response.json(rewrite(await res.json()));
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

Deno.test("an answer repeated in place of another is an unreadable batch, never a missing receipt", async () => {
  // Every call answered, but the second answer carries the first call's id.
  const node = rewritingNode((answers) =>
    Array.isArray(answers) && answers.length > 1
      ? [answers[0], answers[0], ...answers.slice(2)]
      : answers
  );
  try {
    const calls = await receiptCalls(4);
    const rpc = new JsonRpc(node.url, 5_000);
    // Before, the repeated id overwrote its twin and left the other call's slot empty: read as
    // "no receipt", it is what the reconciler decides from.
    await assert.rejects(rpc.batch(calls), /unreadable batch/);
  } finally {
    await node.close();
  }
});

Deno.test("a lone rate-limit error for a batch is a failing endpoint, not a size refusal: no halving", async () => {
  const node = rewritingNode(() => [{
    jsonrpc: "2.0",
    id: null,
    error: { code: -32005, message: "Too many requests, slow down" },
  }]);
  try {
    const calls = await receiptCalls(6);
    const alone = new JsonRpc(node.url, 5_000);
    await assert.rejects(alone.batches(calls), (e) => {
      assert.ok(!(e instanceof BatchTooLargeError), String(e));
      return true;
    });
    assert.equal(alone.batchLimit, 100, "the limit is not halved for a rate limit");
    const both = new JsonRpc(`${node.url},${stack.chain_rpc_url}`, 5_000);
    assert.deepEqual((await both.batches(calls)).results, await chain.batch(calls));
  } finally {
    await node.close();
  }
});

Deno.test("distribute-tokens and the reconciler's chain view through a node that takes 4 calls a batch: every transfer sent and confirmed once", async () => {
  await autoDistribute(sql, false);
  const proxy = startChainProxy(stack.chain_rpc_url);
  const saved = Deno.env.toObject();
  try {
    const investors = await Promise.all(Array.from({ length: 9 }, () => newInvestor(sql)));
    const investments = await Promise.all(investors.map((i) => invest(i, 3)));
    for (const inv of investments) {
      assert.equal((await sendWebhook(chargeSuccess(inv))).status, 200);
    }

    proxy.setMode("batch_limit:4");
    // The function, run here with the proxy as its only chain endpoint.
    Deno.env.set("SUPABASE_URL", stack.api_url);
    Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", stack.service_role_key);
    Deno.env.set("CHAIN_RPC_URL", proxy.url);
    Deno.env.set("CHAIN_ID", String(stack.chain_id));
    Deno.env.set("TREASURY_PRIVATE_KEY", stack.treasury_private_key);
    const res = await distributeTokens(
      new Request("http://localhost/functions/v1/distribute-tokens", {
        method: "POST",
        headers: {
          authorization: `Bearer ${stack.service_role_key}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ tokenization_id: stack.tokenization_id, limit: 1000 }),
      }),
    );
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    for (const inv of investments) {
      assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    }
    assert.deepEqual(await tokenInvariants(sql, investors.map((i) => i.id)), []);

    // The reconciler's view of the same transfers, several batches each with its own head.
    const transfers = await sql<{ tx_hash: string }[]>`
      select distinct t.tx_hash from app.token_transfers t join app.investments i on i.transfer_id = t.id
       where i.id = any(${investments.map((i) => i.investment_id)}::uuid[])`;
    assert.equal(transfers.length, 9);
    const hashes = transfers.map((t) => t.tx_hash);
    const view = await chainView(new JsonRpc(proxy.url), wallet.address, hashes);
    const fresh = await chainView(chain, wallet.address, hashes);
    assert.ok(view.receipts.every((r) => r?.status === "0x1"), "every transfer mined");
    assert.equal(
      view.used,
      BigInt(
        await chain.call<string>("eth_getTransactionCount", [
          wallet.address,
          "0x" + view.head.toString(16),
        ]),
      ),
    );
    assert.deepEqual(
      view.receipts.map((r) => r?.transactionHash),
      fresh.receipts.map((r) => r?.transactionHash),
    );
  } finally {
    for (
      const k of [
        "SUPABASE_URL",
        "SUPABASE_SERVICE_ROLE_KEY",
        "CHAIN_RPC_URL",
        "CHAIN_ID",
        "TREASURY_PRIVATE_KEY",
      ]
    ) {
      if (saved[k] === undefined) Deno.env.delete(k);
      else Deno.env.set(k, saved[k]);
    }
    await proxy.close();
    await autoDistribute(sql, true);
    await sql.end();
  }
});
