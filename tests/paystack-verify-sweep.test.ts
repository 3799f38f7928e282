// Missed webhooks: verify-pending-payments against the stack's stand-in of Paystack's verify
// endpoint (real HTTP, Paystack's answer shape). A paid charge whose webhook was lost is confirmed
// once; its late webhook changes nothing; a wrong amount is amount_mismatch; Paystack down or
// refusing the key leaves the investment pending and the run reports the errors.
import assert from "node:assert/strict";
import { verifiedTransaction } from "./_support/paystack-events.ts";
import { db, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  callFunction,
  chargeSuccess,
  distribute,
  invest,
  type Investment,
  newInvestor,
  onChain,
  sendWebhook,
  status,
} from "./_support/tokens.ts";

const sql = db();
// Only this file's investments are this old: the sweep is called for "older than 40 days".
const OLD = "41 days";
const sweep = () => callFunction("verify-pending-payments", { older_than_seconds: 40 * 86400 });

async function local(path: string, body: unknown) {
  const r = await fetch(`${stack.paystack_api_url}/_local/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
}

async function oldPendingInvestment(
  tokens: number,
): Promise<[Investment, { id: string; wallet: string | null }]> {
  const investor = await newInvestor(sql);
  const inv = await invest(investor, tokens);
  await sql`update app.investments set created_at = now() - ${OLD}::interval
             where id = ${inv.investment_id}`;
  return [inv, investor];
}

Deno.test("a paid charge whose webhook was lost is confirmed by the sweep, once; the late webhook changes nothing", async () => {
  await autoDistribute(sql, false);
  const [inv, investor] = await oldPendingInvestment(3);
  const tx = verifiedTransaction({ reference: inv.reference, amount: inv.amount_subunit });
  await local("transactions", tx);
  const run = await sweep();
  assert.equal(run.status, 200, JSON.stringify(run.body));
  assert.ok(run.body.confirmed >= 1, JSON.stringify(run.body));
  assert.equal(await status(sql, inv.investment_id), "confirmed");
  const again = await sweep();
  assert.equal(again.body.confirmed, 0, "a second sweep has nothing left to confirm");
  const late = await sendWebhook(chargeSuccess(inv, { id: tx.id }));
  assert.equal(late.body.outcome, "duplicate", "the webhook of the verified charge");
  const other = await sendWebhook(chargeSuccess(inv));
  assert.equal(other.body.outcome, "duplicate", "any later charge for the reference");
  assert.equal((await distribute({ user_id: investor.id })).body.confirmed, 1);
  assert.equal(await onChain(investor.wallet!), 3n, "paid once");
});

Deno.test("the webhook first, then the sweep: nothing twice", async () => {
  await autoDistribute(sql, false);
  const [inv] = await oldPendingInvestment(1);
  const tx = verifiedTransaction({ reference: inv.reference, amount: inv.amount_subunit });
  await local("transactions", tx);
  assert.equal(
    (await sendWebhook(chargeSuccess(inv, { id: tx.id }))).body.outcome,
    "investment_confirmed",
  );
  const run = await sweep();
  assert.equal(run.status, 200);
  const [{ n }] = await sql`select count(*)::int as n from app.paystack_events
                             where investment_id = ${inv.investment_id}`;
  assert.equal(n, 1, "only the webhook's event: the sweep skipped a confirmed investment");
});

Deno.test("a wrong amount in the verify answer is amount_mismatch", async () => {
  await autoDistribute(sql, false);
  const [inv] = await oldPendingInvestment(2);
  await local(
    "transactions",
    verifiedTransaction({ reference: inv.reference, amount: inv.amount_subunit - 100 }),
  );
  const run = await sweep();
  assert.ok(run.body.amount_mismatch >= 1, JSON.stringify(run.body));
  assert.equal(await status(sql, inv.investment_id), "amount_mismatch");
});

Deno.test("an unknown reference and an abandoned transaction stay pending", async () => {
  const [unpaid] = await oldPendingInvestment(1);
  const [abandoned] = await oldPendingInvestment(1);
  await local(
    "transactions",
    verifiedTransaction({
      reference: abandoned.reference,
      amount: abandoned.amount_subunit,
      status: "abandoned",
    }),
  );
  const run = await sweep();
  assert.ok(run.body.still_pending >= 2, JSON.stringify(run.body));
  assert.equal(await status(sql, unpaid.investment_id), "pending");
  assert.equal(await status(sql, abandoned.investment_id), "pending");
});

Deno.test("Paystack down, or refusing the key: the investment stays pending, the run counts the errors", async () => {
  const [inv] = await oldPendingInvestment(1);
  await local(
    "transactions",
    verifiedTransaction({ reference: inv.reference, amount: inv.amount_subunit }),
  );
  try {
    for (const outage of [503, 401, 500]) {
      await local("outage", { status: outage });
      await sql`update app.investments set verify_checked_at = null where id = ${inv.investment_id}`;
      const run = await sweep();
      assert.equal(run.status, 200);
      assert.ok(run.body.errors >= 1, `${outage}: ${JSON.stringify(run.body)}`);
      assert.ok(
        run.body.error_details.some((e: { investment_id: string }) =>
          e.investment_id === inv.investment_id
        ),
      );
      assert.equal(await status(sql, inv.investment_id), "pending", `${outage}: never "not paid"`);
    }
  } finally {
    await local("outage", { status: null });
  }
  await sql`update app.investments set verify_checked_at = null where id = ${inv.investment_id}`;
  assert.ok((await sweep()).body.confirmed >= 1, "once Paystack answers, it is confirmed");
  assert.equal(await status(sql, inv.investment_id), "confirmed");
});

Deno.test("the sweep needs the service key or an admin with MFA", async () => {
  const r = await fetch(`${stack.api_url}/functions/v1/verify-pending-payments`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.anon_key}` },
    body: "{}",
  });
  assert.equal(r.status, 403);
  await r.body?.cancel();
  const bad = await callFunction("verify-pending-payments", { limit: 0 });
  assert.equal(bad.status, 400);
  await sql.end();
});
