// The payment -> token pipeline end to end on the real stack: real HTTP into the gateway, the
// real webhook function, Postgres, and ERC-20 transfers on anvil.
import assert from "node:assert/strict";
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";
import { db, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chargeSuccess,
  distribute,
  holdings,
  invest,
  newInvestor,
  onChain,
  sendWebhook,
  setKyc,
  setWallet,
  status,
  tokenInvariants,
  waitFor,
} from "./_support/tokens.ts";

const sql = db();
// Every investor this file creates, for the closing whole-file invariant check.
const everyone: string[] = [];
const tracked = async (opts?: Parameters<typeof newInvestor>[1]) => {
  const i = await newInvestor(sql, opts);
  everyone.push(i.id);
  return i;
};

Deno.test("a signed charge.success confirms, and the tokens arrive on chain once", async () => {
  await autoDistribute(sql, true);
  const investor = await tracked();
  const inv = await invest(investor, 7);
  const r = await sendWebhook(chargeSuccess(inv));
  assert.equal(r.status, 200);
  assert.equal(r.body.received, true);
  assert.equal(r.body.outcome, "investment_confirmed");
  // The webhook queued a distribution run (net.http_post after commit); nobody calls it by hand.
  await waitFor(
    "distribution",
    async () => (await status(sql, inv.investment_id)) === "tokens_distributed",
  );
  assert.equal(await onChain(investor.wallet!), 7n);
  assert.equal(await holdings(sql, investor.id), 7n);
  assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
});

Deno.test("the same webhook ten times (Paystack retries) pays once", async () => {
  await autoDistribute(sql, true);
  const investor = await tracked();
  const inv = await invest(investor, 3);
  const body = chargeSuccess(inv);
  const results = await Promise.all(Array.from({ length: 10 }, () => sendWebhook(body)));
  assert.ok(results.every((x) => x.status === 200));
  const outcomes = results.map((x) => x.body.outcome).sort();
  assert.deepEqual(
    outcomes,
    ["duplicate", ...Array(8).fill("duplicate"), "investment_confirmed"].sort(),
  );
  await waitFor(
    "distribution",
    async () => (await status(sql, inv.investment_id)) === "tokens_distributed",
  );
  const again = await distribute({ user_id: investor.id });
  assert.equal(again.body.claimed, 0, "nothing left to distribute");
  assert.equal(await onChain(investor.wallet!), 3n);
  assert.equal(await holdings(sql, investor.id), 3n);
  const [{ n }] =
    await sql`select count(*)::int as n from app.paystack_events where reference = ${inv.reference}`;
  assert.equal(n, 1, "the event is stored once");
});

Deno.test("a forged or tampered webhook is 401 and changes nothing", async () => {
  const investor = await tracked();
  const inv = await invest(investor, 2);
  const body = chargeSuccess(inv);
  const forged = await sendWebhook(
    body,
    paystackSignature(new TextEncoder().encode(body), "sk_test_attacker"),
  );
  assert.equal(forged.status, 401);
  const tampered = await sendWebhook(
    body.replace(`"amount":${inv.amount_subunit}`, `"amount":1`),
    undefined,
  );
  assert.equal(
    tampered.status,
    200,
    "(control) a correctly signed tampered body is judged on its content",
  );
  assert.equal(tampered.body.outcome, "amount_mismatch");
  const investor2 = await tracked();
  const inv2 = await invest(investor2, 2);
  const body2 = chargeSuccess(inv2);
  const sig = paystackSignature(new TextEncoder().encode(body2), stack.paystack_secret_key);
  const swapped = await sendWebhook(body2.replace('"status":"success"', '"status":"failed"'), sig);
  assert.equal(swapped.status, 401, "a body changed after signing is refused");
  const missing = await fetch(`${stack.api_url}/functions/v1/paystack-webhook`, {
    method: "POST",
    body: body2,
  });
  assert.equal(missing.status, 401);
  await missing.body?.cancel();
  assert.equal(await status(sql, inv2.investment_id), "pending", "nothing changed");
  const [{ n }] =
    await sql`select count(*)::int as n from app.paystack_events where reference = ${inv2.reference}`;
  assert.equal(n, 0, "nothing was recorded");
});

Deno.test("an underpayment is amount_mismatch and pays nothing", async () => {
  await autoDistribute(sql, true);
  const investor = await tracked();
  const inv = await invest(investor, 4);
  const r = await sendWebhook(chargeSuccess(inv, { amount: inv.amount_subunit - 100 }));
  assert.equal(r.body.outcome, "amount_mismatch");
  assert.equal(await status(sql, inv.investment_id), "amount_mismatch");
  const d = await distribute({ user_id: investor.id });
  assert.equal(d.body.claimed, 0);
  assert.equal(await onChain(investor.wallet!), 0n);
});

Deno.test("unverified investors and investors without a wallet are paid only once they qualify", async () => {
  await autoDistribute(sql, true);
  const investor = await tracked({ verified: false, wallet: false });
  const inv = await invest(investor, 5);
  assert.equal((await sendWebhook(chargeSuccess(inv))).body.outcome, "investment_confirmed");
  assert.equal((await distribute({ user_id: investor.id })).body.claimed, 0, "no KYC: not claimed");
  await setKyc(investor.id, "verified");
  assert.equal(
    (await distribute({ user_id: investor.id })).body.claimed,
    0,
    "no wallet: not claimed",
  );
  assert.equal(await status(sql, inv.investment_id), "confirmed", "it waits, it is not lost");
  const wallet = await setWallet(investor.jwt);
  const d = await distribute({ user_id: investor.id });
  assert.equal(d.body.claimed, 1);
  assert.equal(d.body.confirmed, 1);
  assert.equal(await onChain(wallet), 5n);
  assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
});

Deno.test("F7/F9: two distribute-tokens runs and a webhook trigger at the same moment pay once", async () => {
  await autoDistribute(sql, false);
  const investors = await Promise.all(Array.from({ length: 6 }, () => tracked()));
  const invs = await Promise.all(investors.map((i, k) => invest(i, k + 1)));
  for (const inv of invs.slice(0, 5)) {
    assert.equal((await sendWebhook(chargeSuccess(inv))).body.outcome, "investment_confirmed");
  }
  await autoDistribute(sql, true);
  // Two sweeps and a webhook (which queues a third run) race for the same claims.
  const [a, b, w] = await Promise.all([
    distribute(),
    distribute(),
    sendWebhook(chargeSuccess(invs[5])),
  ]);
  assert.equal(w.body.outcome, "investment_confirmed");
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  await waitFor("all six distributed", async () => {
    const rows = await sql`select count(*)::int as n from app.investments
      where id = any(${
      invs.map((i) => i.investment_id)
    }::uuid[]) and payment_status = 'tokens_distributed'`;
    return rows[0].n === 6 || (await distribute(), false);
  }, 20_000);
  for (const [k, investor] of investors.entries()) {
    assert.equal(
      await onChain(investor.wallet!),
      BigInt(k + 1),
      `investor ${k} holds exactly ${k + 1}`,
    );
    assert.equal(await holdings(sql, investor.id), BigInt(k + 1));
  }
  const [{ n }] = await sql`select count(*)::int as n from app.token_transfers
    where user_id = any(${investors.map((i) => i.id)}::uuid[]) and status = 'confirmed'`;
  assert.equal(n, 6, "one confirmed transfer each");
  assert.deepEqual(await tokenInvariants(sql, investors.map((i) => i.id)), []);
});

Deno.test({
  name: "after every scenario of this file: chain = holdings = distributed for every investor",
  fn: async () => {
    await autoDistribute(sql, true);
    try {
      assert.ok(everyone.length >= 10);
      assert.deepEqual(await tokenInvariants(sql, everyone), []);
    } finally {
      await sql.end();
    }
  },
});
