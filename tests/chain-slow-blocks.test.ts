// A real chain's pace: anvil mines a block every second (evm_setIntervalMining) and the chain's
// policy wants 3 confirmations. A run that has the time waits for the depth itself: it ends with
// its transfers final (holdings added), not merely mined, and no reconciler run is needed.
import assert from "node:assert/strict";
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

Deno.test("blocks every second, min_confirmations 3: a run ends with its transfers final", async () => {
  await autoDistribute(sql, false);
  await svc("admin_set_chain_policy", { p_chain_id: stack.chain_id, p_min_confirmations: 3 });
  await chain.call("evm_setIntervalMining", [1]);
  try {
    const investors = await Promise.all([newInvestor(sql), newInvestor(sql)]);
    const invs = [];
    for (const [i, who] of investors.entries()) {
      const inv = await invest(who, 2 + i);
      await sendWebhook(chargeSuccess(inv));
      invs.push(inv);
    }
    const head0 = BigInt(await chain.call<string>("eth_blockNumber"));
    const run = await distribute({ receipt_timeout_ms: 15_000 });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const mine = run.body.transfers as { status: string }[];
    assert.ok(run.body.claimed >= 2);
    assert.equal(run.body.pending, 0, JSON.stringify(mine));
    for (const inv of invs) {
      assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    }
    const head1 = BigInt(await chain.call<string>("eth_blockNumber"));
    assert.ok(head1 - head0 >= 3n, `final needs 3 blocks: ${head0} -> ${head1}`);
    assert.deepEqual(await tokenInvariants(sql, investors.map((i) => i.id)), []);
  } finally {
    await chain.call("evm_setIntervalMining", [0]);
    await chain.call("evm_setAutomine", [true]);
    await svc("admin_set_chain_policy", { p_chain_id: stack.chain_id, p_min_confirmations: 1 });
    await autoDistribute(sql, true);
    await sql.end();
  }
});
