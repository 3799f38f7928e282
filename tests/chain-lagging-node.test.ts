// A lagging node never makes a mined transfer look lost. Behind a load balancer, requests land on
// nodes at different heights: a fresh node's nonce ("used") beside a lagging node's missing
// receipt read as "another transaction took the nonce", and the reconciler failed a mined transfer
// and planned its investments again: paid twice. It now reads the nonce, the head and the receipts
// in one batch (one node). Real anvil, behind local/stack/chain-proxy.ts flapping between a fresh
// node and one three blocks behind; then one node whose receipt index trails its own head (a
// nonce is called taken only when it was used TAKEN_DEPTH blocks ago).
import assert from "node:assert/strict";
import { Wallet } from "ethers";
import { startChainProxy } from "../local/stack/chain-proxy.ts";
import { JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";
import {
  repair,
  type StuckTransfer,
} from "../supabase/functions/reconcile-token-distributions/repair.ts";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chain,
  chargeSuccess,
  distribute,
  invest,
  newInvestor,
  sendWebhook,
  status,
  tokenInvariants,
} from "./_support/tokens.ts";

const sql = db();
const svc = (fn: string, body: unknown) => rpcHttp(fn, body, stack.service_role_key);
const wallet = new Wallet(stack.treasury_private_key);
// repair() talks to the database through the gateway, as the edge function does.
Deno.env.set("SUPABASE_URL", stack.api_url);
Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", stack.service_role_key);

/**
 * An investment whose distribute-tokens run crashed right after broadcasting: the transaction is
 * sent (mined at once, or waiting for a block without automine), the books say broadcast.
 */
async function crashedAfterBroadcast(tokens: number) {
  const investor = await newInvestor(sql);
  const inv = await invest(investor, tokens);
  await sendWebhook(chargeSuccess(inv));
  const crashed = await distribute({ user_id: investor.id, _fault: "after_broadcast" });
  assert.equal(crashed.status, 500);
  const stuck = ((await svc("transfers_to_reconcile", { p_stale_after: "0 seconds" }))
    .body as (StuckTransfer & { user_id: string })[]).filter((t) => t.user_id === investor.id);
  assert.equal(stuck.length, 1);
  assert.equal(stuck[0].status, "broadcast");
  return { investor, inv, stuck };
}

Deno.test("nonce from a fresh node, receipt from a lagging one: the mined transfer is confirmed, never failed", async () => {
  await autoDistribute(sql, false);
  const proxy = startChainProxy(stack.chain_rpc_url);
  try {
    const { investor, inv, stuck } = await crashedAfterBroadcast(5);

    // Odd requests reach a fresh node, even ones a node three blocks behind (no receipt yet).
    // The reconciler either decides from one consistent view or gives up for this run: it never
    // fails the mined transfer.
    proxy.setMode("flap:3");
    const opts = { bumpAfterMs: 60_000, receiptTimeoutMs: 2_000 };
    const flapping = await repair(new JsonRpc(proxy.url), wallet, stuck, opts).catch((e) => e);
    assert.ok(
      flapping instanceof Error || flapping.failed === 0,
      "a mined transfer was called lost",
    );
    assert.notEqual(
      await status(sql, inv.investment_id),
      "confirmed",
      "not released to be paid again",
    );
    proxy.setMode("ok");
    const steady = await repair(new JsonRpc(proxy.url), wallet, stuck, opts);
    assert.equal(steady.failed, 0);
    assert.equal(await status(sql, inv.investment_id), "tokens_distributed");

    // Nothing more happens to it, and it was paid once.
    const again = await distribute({ user_id: investor.id });
    assert.equal(again.body.claimed, 0);
    assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
  } finally {
    await proxy.close();
    await autoDistribute(sql, true);
  }
});

Deno.test("a node whose receipt index trails its head: the transfer waits, never failed as taken", async () => {
  await autoDistribute(sql, false);
  const proxy = startChainProxy(stack.chain_rpc_url);
  try {
    const { investor, inv, stuck } = await crashedAfterBroadcast(3);
    // One node, consistent with itself: its head and nonce count include the newest block, its
    // receipt index does not yet. The nonce is used, the receipt "missing".
    proxy.setMode("receipts_lag:2");
    const opts = { bumpAfterMs: 60_000, receiptTimeoutMs: 0 };
    const early = await repair(new JsonRpc(proxy.url), wallet, stuck, opts);
    assert.equal(early.failed, 0, "a mined transfer was failed as taken by another transaction");
    assert.equal(await status(sql, inv.investment_id), "distributing", "it waits");
    // Blocks later the index has caught up with the transfer's block: confirmed, paid once.
    for (let i = 0; i < 3; i++) await chain.call("evm_mine", []);
    const later = await repair(new JsonRpc(proxy.url), wallet, stuck, opts);
    assert.equal(later.failed, 0);
    assert.equal(later.confirmed, 1);
    assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
  } finally {
    await proxy.close();
    await autoDistribute(sql, true);
  }
});

Deno.test("a block arriving in the middle of the reconciler's batch never makes a mined transfer look taken", async () => {
  await autoDistribute(sql, false);
  const proxy = startChainProxy(stack.chain_rpc_url);
  await chain.call("evm_setAutomine", [false]);
  try {
    // The transaction waits in the pool for the next block.
    const { investor, inv, stuck } = await crashedAfterBroadcast(7);
    // The node answers the batch's receipts, then a block (with that transaction) arrives, then
    // it answers the rest: a nonce read at "latest" would already count the transaction.
    proxy.setMode("mine_mid_batch");
    const counts = await repair(new JsonRpc(proxy.url), wallet, stuck, {
      bumpAfterMs: 60_000,
      receiptTimeoutMs: 2_000,
    });
    assert.equal(counts.failed, 0, "the mined transfer was failed as taken by another transaction");
    assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
  } finally {
    await chain.call("evm_setAutomine", [true]);
    await proxy.close();
    await autoDistribute(sql, true);
    await sql.end();
  }
});
