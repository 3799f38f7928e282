// Fees from a real chain under the policy's cap: anvil's next base fee is pushed above the cap
// (anvil_setNextBlockBaseFeePerGas), a run signs nothing and reports the investments deferred, the
// alert shows, and once the fee falls they go out by themselves, never signed above the cap
// (read back from the chain).
import assert from "node:assert/strict";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chain,
  chargeSuccess,
  distribute,
  invest,
  newInvestor,
  onChain,
  sendWebhook,
  status,
} from "./_support/tokens.ts";

const sql = db();
const svc = (fn: string, body: unknown) => rpcHttp(fn, body, stack.service_role_key);
const GWEI = 1_000_000_000n;
const CAP = 5n * GWEI;

Deno.test("fees above the cap: nothing signed, deferred fee_cap, then out once fees fall, never above the cap", async () => {
  await autoDistribute(sql, false);
  const before = (await svc("admin_set_chain_policy", { p_chain_id: stack.chain_id })).body;
  try {
    const set = await svc("admin_set_chain_policy", {
      p_chain_id: stack.chain_id,
      p_max_fee_per_gas: CAP.toString(),
      p_max_priority_fee_per_gas: GWEI.toString(),
    });
    assert.equal(set.status, 200);
    const investor = await newInvestor(sql);
    const inv = await invest(investor, 3);
    await sendWebhook(chargeSuccess(inv));

    await chain.call("anvil_setNextBlockBaseFeePerGas", ["0x" + (8n * GWEI).toString(16)]);
    const spiked = await distribute({ user_id: investor.id });
    assert.equal(spiked.status, 200);
    assert.equal(spiked.body.claimed, 0);
    assert.equal(spiked.body.deferred, 1);
    assert.equal(spiked.body.deferred_reason, "fee_cap");
    assert.equal(await status(sql, inv.investment_id), "confirmed", "it waits, confirmed");
    const alerts = (await svc("admin_token_alerts", {})).body as { kind: string }[];
    assert.ok(alerts.some((a) => a.kind === "fee_cap_exceeded"));

    // A block at the spiked fee, then the fee falls back under the cap.
    await chain.call("evm_mine", []);
    await chain.call("anvil_setNextBlockBaseFeePerGas", ["0x" + GWEI.toString(16)]);
    const calm = await distribute({ user_id: investor.id });
    assert.equal(calm.body.claimed, 1);
    assert.equal(calm.body.confirmed, 1);
    assert.equal(calm.body.deferred, 0);
    assert.equal(await onChain(investor.wallet!), 3n);
    const [t] = await sql`select tx_hash from app.token_transfers where user_id = ${investor.id}`;
    const tx = await chain.call<{ maxFeePerGas: string; maxPriorityFeePerGas: string }>(
      "eth_getTransactionByHash",
      [t.tx_hash],
    );
    assert.ok(BigInt(tx.maxFeePerGas) <= CAP, `signed at ${tx.maxFeePerGas}, cap ${CAP}`);
    assert.ok(BigInt(tx.maxPriorityFeePerGas) <= GWEI);
    const after = (await svc("admin_token_alerts", {})).body as { kind: string }[];
    assert.ok(!after.some((a) => a.kind === "fee_cap_exceeded"), "the alert cleared itself");
  } finally {
    await svc("admin_set_chain_policy", {
      p_chain_id: stack.chain_id,
      p_max_fee_per_gas: before.max_fee_per_gas,
      p_max_priority_fee_per_gas: before.max_priority_fee_per_gas,
    });
    await autoDistribute(sql, true);
    await sql.end();
  }
});
