// Paystack's events exactly as Paystack publishes them, through the signed webhook on the real
// stack: every refund and dispute shape applied once however often it is delivered, partial
// refunds held for an admin, and no correctly signed body ever refused (a property test).
import assert from "node:assert/strict";
import fc from "fast-check";
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";
import { MAX_WEBHOOK_BODY_BYTES } from "../supabase/functions/paystack-webhook/handler.ts";
import { disputeEvent, paystackShape, refundEvent } from "./_support/paystack-events.ts";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chargeSuccess,
  distribute,
  holdings,
  invest,
  newInvestor as createInvestor,
  onChain,
  refund,
  sendWebhook,
  status,
  tokenInvariants,
} from "./_support/tokens.ts";

const sql = db();
const everyone: string[] = [];
const newInvestor = async (s: typeof sql) => {
  const i = await createInvestor(s);
  everyone.push(i.id);
  return i;
};

async function alertsOf(kind: string, key: string, value: string) {
  const [{ n }] = await sql`select count(*)::int as n
    from jsonb_array_elements(public.admin_token_alerts()) a
   where a ->> 'kind' = ${kind} and a ->> ${key} = ${value}`;
  return n as number;
}

Deno.test("the published refund.processed (no data.id, amount a string) refunds, once (regression: it was 400 data.id)", async () => {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  const inv = await invest(investor, 3);
  await sendWebhook(chargeSuccess(inv));
  const event = refundEvent("processed", { reference: inv.reference, amount: inv.amount_subunit });
  assert.equal("id" in event.data, false, "Paystack's refund events carry no data.id");
  assert.equal(typeof event.data.amount, "string");
  const body = JSON.stringify(event);
  const first = await sendWebhook(body);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.outcome, "refund_recorded");
  assert.equal(first.body.payment_status, "refunded");
  for (let i = 0; i < 3; i++) {
    const again = await sendWebhook(body);
    assert.equal(again.status, 200);
    assert.equal(again.body.outcome, "duplicate", "Paystack's retry of the same body");
  }
  assert.equal((await distribute({ user_id: investor.id })).body.claimed, 0);
  assert.equal(await onChain(investor.wallet!), 0n);
});

Deno.test("the published charge.dispute.create (transaction_reference null) disputes (regression: it was 400)", async () => {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  const inv = await invest(investor, 2);
  await sendWebhook(chargeSuccess(inv));
  const event = disputeEvent("create", {
    id: 90_000 + Math.floor(Math.random() * 1e6),
    reference: inv.reference,
    amount: inv.amount_subunit,
  });
  assert.equal(event.data.transaction_reference, null);
  const r = await sendWebhook(JSON.stringify(event));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.payment_status, "disputed");
});

Deno.test("every published refund shape, delivered three times in any order with its charge: applied once each", async () => {
  await autoDistribute(sql, false);
  const stages = ["pending", "processing", "needs-attention", "failed", "processed"] as const;
  for (const seed of [1, 2, 3]) {
    const investor = await newInvestor(sql);
    const inv = await invest(investor, 2);
    const bodies = [
      chargeSuccess(inv),
      ...stages.map((s) => refund(inv, s)),
    ];
    // A fixed shuffle per seed, each body three times.
    const order = bodies.flatMap((b) => [b, b, b]).sort((a, b) =>
      ((a.length * seed) % 7) - ((b.length * seed) % 7)
    );
    const results = await Promise.all(order.map((b) => sendWebhook(b)));
    assert.deepEqual(results.map((r) => r.status), Array(order.length).fill(200));
    for (const b of bodies) {
      const applied = results.filter((r, i) => order[i] === b && r.body.outcome !== "duplicate");
      assert.equal(applied.length, 1, "each event applied once, its redeliveries duplicates");
    }
    assert.equal(await status(sql, inv.investment_id), "refunded", "the processed refund wins");
    assert.equal((await distribute({ user_id: investor.id })).body.claimed, 0);
  }
});

Deno.test("refund.needs-attention holds the investment with an alert until the refund ends", async () => {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  const inv = await invest(investor, 2);
  await sendWebhook(chargeSuccess(inv));
  assert.equal((await sendWebhook(refund(inv, "needs-attention"))).status, 200);
  assert.equal((await distribute({ user_id: investor.id })).body.claimed, 0, "held");
  assert.equal(await alertsOf("refund_needs_attention", "investment_id", inv.investment_id), 1);
  await sendWebhook(refund(inv, "failed"));
  assert.equal(await alertsOf("refund_needs_attention", "investment_id", inv.investment_id), 0);
  assert.equal((await distribute({ user_id: investor.id })).body.confirmed, 1, "released");
  assert.equal(await onChain(investor.wallet!), 2n);
});

Deno.test("a partial refund holds the investment; accept pays the tokens the kept money buys, once", async () => {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  const inv = await invest(investor, 4);
  await sendWebhook(chargeSuccess(inv));
  // 3/8 of the money back: what is kept pays for 2.5 tokens, so 2.
  const r = await sendWebhook(refund(inv, "processed", inv.amount_subunit * 3 / 8));
  assert.equal(r.body.payment_status, "confirmed", "never a silent full refund");
  assert.equal((await distribute({ user_id: investor.id })).body.claimed, 0, "nor the full tokens");
  assert.equal(await alertsOf("partial_refund", "investment_id", inv.investment_id), 1);
  const accepted = await rpcHttp("admin_resolve_investment", {
    p_investment_id: inv.investment_id,
    p_action: "accept",
    p_note: "5/8 kept",
  }, stack.service_role_key);
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  assert.equal(accepted.body.tokens, "2");
  assert.equal((await distribute({ user_id: investor.id })).body.confirmed, 1);
  assert.equal(await onChain(investor.wallet!), 2n, "2 tokens for the money kept, never 4");
  assert.equal(await holdings(sql, investor.id), 2n);
});

Deno.test("nothing signed is refused: metadata 200 levels deep, a NUL and a lone surrogate confirm the payment", async () => {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  for (const metadata of ["deep", "nul", "surrogate"] as const) {
    const inv = await invest(investor, 1);
    let body = chargeSuccess(inv, { metadata: "__M__" });
    const value = metadata === "deep"
      ? "[".repeat(200) + "]".repeat(200)
      : metadata === "nul"
      ? '"payer\\u0000name"'
      : '"half \\ud800 a pair"';
    body = body.replace('"__M__"', value);
    const r = await sendWebhook(body);
    assert.equal(r.status, 200, `${metadata}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.outcome, "investment_confirmed", metadata);
    const [stored] = await sql`select raw_body, payload from app.paystack_events
      where investment_id = ${inv.investment_id}`;
    assert.equal(stored.raw_body, body, "the body as signed is kept");
    assert.equal((await sendWebhook(body)).body.outcome, "duplicate");
  }
});

Deno.test("a signed body that cannot be applied is stored and answered 200, with an alert for a charge", async () => {
  const bodies = [
    "this is not JSON",
    "[]",
    JSON.stringify({ event: "charge.success", data: { id: 777_001, reference: "x".repeat(5000) } }),
    JSON.stringify({ ...paystackShape("charge.success"), event: "transfer.success" }),
  ];
  for (const b of bodies) {
    const r = await sendWebhook(b);
    assert.equal(r.status, 200, `${b.slice(0, 40)}: ${JSON.stringify(r.body)}`);
    assert.ok(["unprocessable", "ignored", "duplicate"].includes(r.body.outcome), r.body.outcome);
  }
  const long = await sendWebhook(bodies[2]);
  assert.equal(
    await alertsOf("paystack_event_unprocessable", "event_id", String(long.body.event_id)),
    1,
  );
});

// Any signed JSON object up to the limit is answered 200 (413 over it) and stores exactly one
// event (or none for a redelivery), changing no investment.
const weird = fc.oneof(
  fc.string(),
  fc.constantFrom("\u0000", "\ud800", "\udfff", "x\u0000\ud83d", "💸", "\\u0000"),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(2 ** 60),
  fc.boolean(),
  fc.constant(null),
);
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    weird,
    tie("array"),
    tie("object"),
  ),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.dictionary(
    fc.oneof(fc.string(), fc.constantFrom("event", "data", "id", "reference", "amount", "\u0000")),
    tie("value"),
    { maxKeys: 5 },
  ),
})).object;
const eventish = fc.record({
  event: fc.oneof(
    fc.constantFrom(
      "charge.success",
      "refund.processed",
      "charge.dispute.create",
      "refund.pending",
    ),
    fc.string(),
  ),
  data: jsonish,
}, { requiredKeys: [] });

Deno.test("property: any signed JSON object is stored once and answered 200, never 4xx/5xx", async () => {
  const [{ before }] =
    await sql`select coalesce(max(updated_at), 'epoch')::text as before from app.investments`;
  await fc.assert(
    fc.asyncProperty(fc.oneof(jsonish, eventish), fc.nat(3), async (value, pad) => {
      const body = JSON.stringify(value) + " ".repeat(pad);
      const [{ n: n0 }] = await sql`select count(*)::int as n from app.paystack_events`;
      const r = await sendWebhook(body);
      const [{ n: n1 }] = await sql`select count(*)::int as n from app.paystack_events`;
      if (new TextEncoder().encode(body).length > MAX_WEBHOOK_BODY_BYTES) {
        assert.equal(r.status, 413);
        return;
      }
      assert.equal(r.status, 200, `${body.slice(0, 200)} -> ${JSON.stringify(r.body)}`);
      assert.ok(n1 - n0 === (r.body.outcome === "duplicate" ? 0 : 1), "one stored event");
    }),
    { numRuns: Number(Deno.env.get("WEBHOOK_PROPERTY_RUNS") ?? "60") },
  );
  const [{ after }] =
    await sql`select coalesce(max(updated_at), 'epoch')::text as after from app.investments`;
  assert.equal(after, before, "no investment changed");
});

Deno.test("over the body limit: 413, nothing stored", async () => {
  const big = JSON.stringify({
    event: "charge.success",
    data: { pad: "x".repeat(MAX_WEBHOOK_BODY_BYTES) },
  });
  const sig = paystackSignature(new TextEncoder().encode(big), stack.paystack_secret_key);
  const r = await sendWebhook(big, sig);
  assert.equal(r.status, 413);
});

Deno.test("after every scenario of this file: chain = holdings = distributed for every investor", async () => {
  assert.deepEqual(await tokenInvariants(sql, everyone), []);
  await sql.end();
});
