// Finality on a real chain: with min_confirmations 3 a receipt only makes a transfer mined; it is
// final (holdings added, investments tokens_distributed) at depth 3. A mined transfer whose block
// is reorganised away (anvil: evm_snapshot / evm_revert) goes back to broadcast, is sent again
// with the same bytes and nonce, and is paid once.
import assert from "node:assert/strict";
import { waitForReceipts } from "../supabase/functions/_shared/chain.ts";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chain,
  chargeSuccess,
  distribute,
  holdings,
  invest,
  newInvestor,
  onChain,
  reconcile,
  sendWebhook,
  status,
  tokenInvariants,
} from "./_support/tokens.ts";

const sql = db();
const svc = (fn: string, body: unknown) => rpcHttp(fn, body, stack.service_role_key);
const everyone: string[] = [];

async function transferOf(userId: string) {
  const [t] = await sql`select status, nonce, tx_hash, block_number from app.token_transfers
                         where user_id = ${userId} order by created_at desc limit 1`;
  return t;
}

async function withDepth<T>(n: number, fn: () => Promise<T>): Promise<T> {
  await svc("admin_set_chain_policy", { p_chain_id: stack.chain_id, p_min_confirmations: n });
  try {
    return await fn();
  } finally {
    await svc("admin_set_chain_policy", { p_chain_id: stack.chain_id, p_min_confirmations: 1 });
  }
}

Deno.test("min_confirmations 3: mined at the first receipt, final at depth 3", async () => {
  await autoDistribute(sql, false);
  await withDepth(3, async () => {
    const investor = await newInvestor(sql);
    everyone.push(investor.id);
    const inv = await invest(investor, 4);
    await sendWebhook(chargeSuccess(inv));
    const run = await distribute({ user_id: investor.id });
    assert.equal(run.body.claimed, 1);
    assert.equal(run.body.confirmed, 0, "a first receipt is not final");
    assert.equal((await transferOf(investor.id)).status, "mined");
    assert.equal(await status(sql, inv.investment_id), "distributing");
    assert.equal(await holdings(sql, investor.id), 0n, "holdings wait for finality");
    await reconcile();
    assert.equal((await transferOf(investor.id)).status, "mined", "depth 1 is still not final");
    await chain.call("evm_mine", []);
    await chain.call("evm_mine", []);
    const r = await reconcile();
    assert.equal(r.body.confirmed, 1, JSON.stringify(r.body));
    assert.equal((await transferOf(investor.id)).status, "confirmed");
    assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    assert.equal(await holdings(sql, investor.id), 4n);
    assert.equal(await onChain(investor.wallet!), 4n);
  });
});

Deno.test("a mined transfer whose block is reorganised away is sent again with the same bytes, paid once", async () => {
  await autoDistribute(sql, false);
  await withDepth(3, async () => {
    const investor = await newInvestor(sql);
    everyone.push(investor.id);
    const inv = await invest(investor, 6);
    await sendWebhook(chargeSuccess(inv));
    const snapshot = await chain.call<string>("evm_snapshot", []);
    await distribute({ user_id: investor.id });
    const mined = await transferOf(investor.id);
    assert.equal(mined.status, "mined");
    assert.equal(await onChain(investor.wallet!), 6n);
    // The block holding it disappears.
    await chain.call("evm_revert", [snapshot]);
    assert.equal(await onChain(investor.wallet!), 0n, "(control) the reorg undid the transfer");
    const r = await reconcile();
    assert.equal(r.body.reorged, 1, JSON.stringify(r.body));
    const again = await transferOf(investor.id);
    assert.equal(again.nonce, mined.nonce, "same nonce");
    assert.equal(again.tx_hash, mined.tx_hash, "same bytes, same hash");
    await chain.call("evm_mine", []);
    await chain.call("evm_mine", []);
    await chain.call("evm_mine", []);
    await reconcile();
    assert.equal((await transferOf(investor.id)).status, "confirmed");
    assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    assert.equal(await onChain(investor.wallet!), 6n, "paid once");
    assert.equal(await holdings(sql, investor.id), 6n);
  });
});

Deno.test("a confirmed transfer reorganised away is reported as reorg_detected and never paid again", async () => {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  const inv = await invest(investor, 5);
  await sendWebhook(chargeSuccess(inv));
  const snapshot = await chain.call<string>("evm_snapshot", []);
  const run = await distribute({ user_id: investor.id });
  assert.equal(run.body.confirmed, 1, "final at the first receipt (no policy depth)");
  await chain.call("evm_revert", [snapshot]);
  assert.equal(await onChain(investor.wallet!), 0n, "(control) the reorg undid it");
  const r = await reconcile();
  const found = (r.body.discrepancies as { kind: string; transfer_id?: string }[])
    .filter((d) => d.kind === "reorg_detected");
  assert.equal(found.length, 1, JSON.stringify(r.body.discrepancies));
  const alerts = (await svc("admin_token_alerts", {})).body as { kind: string; user_id?: string }[];
  assert.ok(alerts.some((a) => a.kind === "reorg_detected" && a.user_id === investor.id));
  assert.equal(
    await status(sql, inv.investment_id),
    "tokens_distributed",
    "the books are not rewritten",
  );
  const again = await distribute({ user_id: investor.id });
  assert.equal(again.body.claimed, 0, "never paid again automatically");
  assert.equal(await onChain(investor.wallet!), 0n);
  // The operator's way out (admin_resend_transfer): the next reconciler run sends the recorded
  // bytes again, which take the same nonce back (the treasury's later nonces would otherwise wait
  // behind the hole the reorg left). The same transaction: never a second payment.
  const [t] = await sql`select id, tx_hash from app.token_transfers where user_id = ${investor.id}`;
  const asked = await svc("admin_resend_transfer", {
    p_transfer_id: t.id,
    p_note: "reorg at block",
  });
  assert.equal(asked.status, 200, JSON.stringify(asked.body));
  assert.equal(asked.body.tx_hash, t.tx_hash);
  const resent = await reconcile();
  assert.equal(resent.body.resent, 1, JSON.stringify(resent.body));
  await waitForReceipts(chain, [t.tx_hash], 20_000);
  assert.equal(await onChain(investor.wallet!), 5n, "the same transfer, once");
  const clean = await reconcile();
  assert.equal(
    (clean.body.discrepancies as { kind: string }[]).filter((d) => d.kind === "reorg_detected")
      .length,
    0,
    "back on the chain: no longer reported",
  );
  const twice = await svc("admin_resend_transfer", { p_transfer_id: t.id });
  assert.equal(twice.status, 409, "back on the chain: nothing to send again");
});

Deno.test("after the finality scenarios: chain = holdings = distributed", async () => {
  await autoDistribute(sql, true);
  assert.deepEqual(await tokenInvariants(sql, everyone), []);
  await sql.end();
});
