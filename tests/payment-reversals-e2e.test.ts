// Payment reversals end to end: signed Paystack refund and dispute events through the real webhook
// function, Postgres and anvil. Nothing is ever paid out for money that did not stay paid; what was
// already paid out is flagged, never undone on chain.
import assert from "node:assert/strict";
import { db } from "./_support/stack.ts";
import {
  autoDistribute,
  chargeSuccess,
  dispute,
  distribute,
  holdings,
  invest,
  newInvestor,
  onChain,
  refund,
  sendWebhook,
  status,
  tokenInvariants,
  waitFor,
} from "./_support/tokens.ts";

const sql = db();
const everyone: string[] = [];
const tracked = async () => {
  const i = await newInvestor(sql);
  everyone.push(i.id);
  return i;
};

async function alerts(kind: string, investmentId: string) {
  const [{ n }] = await sql`select count(*)::int as n
    from jsonb_array_elements(public.admin_token_alerts()) a
   where a ->> 'kind' = ${kind} and a ->> 'investment_id' = ${investmentId}`;
  return n;
}

Deno.test("a refund before distribution: refunded, never on chain", async () => {
  await autoDistribute(sql, false);
  const investor = await tracked();
  const inv = await invest(investor, 3);
  assert.equal((await sendWebhook(chargeSuccess(inv))).body.outcome, "investment_confirmed");
  const r = await sendWebhook(refund(inv, "processed"));
  assert.equal(r.status, 200);
  assert.equal(r.body.outcome, "refund_recorded");
  assert.equal(r.body.payment_status, "refunded");
  assert.equal((await distribute({ user_id: investor.id })).body.claimed, 0);
  assert.equal(await onChain(investor.wallet!), 0n);
  const late = await sendWebhook(chargeSuccess(inv));
  assert.equal(late.body.outcome, "ignored", "a late charge.success never confirms a refunded one");
  assert.equal(await status(sql, inv.investment_id), "refunded");
});

Deno.test("a dispute opened then won: distributed once, after the win", async () => {
  await autoDistribute(sql, false);
  const investor = await tracked();
  const inv = await invest(investor, 4);
  await sendWebhook(chargeSuccess(inv));
  assert.equal((await sendWebhook(dispute(inv, "create", 71001))).body.payment_status, "disputed");
  assert.equal(
    (await distribute({ user_id: investor.id })).body.claimed,
    0,
    "a disputed investment waits",
  );
  assert.equal((await sendWebhook(dispute(inv, "remind", 71001))).body.outcome, "dispute_recorded");
  await autoDistribute(sql, true);
  const won = await sendWebhook(dispute(inv, "resolve", 71001, "declined"));
  assert.equal(won.body.outcome, "dispute_resolved");
  assert.equal(won.body.payment_status, "confirmed");
  await waitFor(
    "distribution",
    async () => (await status(sql, inv.investment_id)) === "tokens_distributed",
  );
  assert.equal(await onChain(investor.wallet!), 4n);
  assert.equal(await holdings(sql, investor.id), 4n);
});

Deno.test("a dispute lost: refunded, never on chain", async () => {
  await autoDistribute(sql, false);
  const investor = await tracked();
  const inv = await invest(investor, 2);
  await sendWebhook(chargeSuccess(inv));
  await sendWebhook(dispute(inv, "create", 71002));
  const lost = await sendWebhook(dispute(inv, "resolve", 71002, "merchant-accepted"));
  assert.equal(lost.body.payment_status, "refunded");
  assert.equal((await distribute({ user_id: investor.id })).body.claimed, 0);
  assert.equal(await onChain(investor.wallet!), 0n);
});

Deno.test("a refund after distribution: an alert, nothing on chain", async () => {
  await autoDistribute(sql, false);
  const investor = await tracked();
  const inv = await invest(investor, 5);
  await sendWebhook(chargeSuccess(inv));
  assert.equal((await distribute({ user_id: investor.id })).body.confirmed, 1);
  const r = await sendWebhook(refund(inv, "processed"));
  assert.equal(r.body.outcome, "refund_recorded");
  assert.equal(r.body.payment_status, "tokens_distributed", "nothing is undone on chain");
  assert.equal(await alerts("refund_after_distribution", inv.investment_id), 1);
  assert.equal(await onChain(investor.wallet!), 5n, "the tokens stay where they are, once");
  assert.equal(await holdings(sql, investor.id), 5n);
});

Deno.test("20 concurrent deliveries of a mix of events for one reference: each applied once; the refund wins or is flagged", async () => {
  await autoDistribute(sql, true);
  const investor = await tracked();
  const inv = await invest(investor, 6);
  const charge = chargeSuccess(inv);
  const processed = refund(inv, "processed");
  const pending = refund(inv, "pending");
  const open = dispute(inv, "create", 71003);
  const bodies = Array.from({ length: 20 }, (_, i) => [charge, processed, pending, open][i % 4]);
  const results = await Promise.all(bodies.map((b) => sendWebhook(b)));
  assert.deepEqual(results.map((r) => r.status), Array(20).fill(200));
  for (const body of [charge, processed, pending, open]) {
    const firsts = results.filter((r, i) => bodies[i] === body && r.body.outcome !== "duplicate");
    assert.equal(firsts.length, 1, "each distinct event applied once, its retries are duplicates");
  }
  await distribute({ user_id: investor.id });
  const final = await status(sql, inv.investment_id);
  const onchain = await onChain(investor.wallet!);
  // Whatever the order, the refund wins unless the tokens were already claimed when it came;
  // then the alert says so. Never both a refund and silence.
  if (final === "refunded") assert.equal(onchain, 0n);
  else {
    assert.ok(["distributing", "tokens_distributed"].includes(final), final);
    assert.equal(await alerts("refund_after_distribution", inv.investment_id), 1);
  }
});

Deno.test("a refund racing a distribute-tokens run: exactly one wins", async () => {
  await autoDistribute(sql, false);
  for (let round = 0; round < 5; round++) {
    const investor = await tracked();
    const inv = await invest(investor, 1);
    await sendWebhook(chargeSuccess(inv));
    const [, d] = await Promise.all([
      sendWebhook(refund(inv, "processed")),
      distribute({ user_id: investor.id }),
    ]);
    await waitFor(
      "settled",
      async () => ["refunded", "tokens_distributed"].includes(await status(sql, inv.investment_id)),
    );
    const final = await status(sql, inv.investment_id);
    const onchain = await onChain(investor.wallet!);
    if (final === "refunded") {
      assert.equal(onchain, 0n, "refunded: nothing on chain");
      assert.equal(d.body.claimed, 0);
    } else {
      assert.equal(onchain, 1n, "distributed first: on chain once");
      assert.equal(await alerts("refund_after_distribution", inv.investment_id), 1, "and flagged");
    }
  }
});

Deno.test("after every scenario of this file: chain = holdings = distributed for every investor", async () => {
  assert.deepEqual(await tokenInvariants(sql, everyone), []);
  await sql.end();
});
