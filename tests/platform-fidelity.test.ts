// Issue 9's defects, each through the gateway as a client sees it (supabase-js or plain HTTP).
// Every test here failed on the gateway that converted arguments in JavaScript.
import assert from "node:assert/strict";
import { Wallet } from "ethers";
import { client, db, rpcHttp, stack, untypedClient, userJwt } from "./_support/stack.ts";
import { newInvestor, reconcile, sendWebhook } from "./_support/tokens.ts";

const sql = db();
await sql.unsafe(`
  create or replace function public.zz_types(p_b boolean default null, p_d date default null,
    p_t timestamptz default null) returns jsonb language sql
    as $$ select jsonb_build_object('b', p_b, 'd', p_d, 't', p_t) $$;
  grant execute on function public.zz_types(boolean, date, timestamptz) to anon, authenticated, service_role;`);

const admin = userJwt(crypto.randomUUID(), { admin: true, aal: "aal2" });
// Each test gets its own day far in the future, so no test sees another's declaration.
let day = 0;
const nextDay = () => {
  const d = new Date(Date.UTC(2034, 0, 1 + 3 * ++day + Math.floor(Math.random() * 300) * 40));
  return d.toISOString().slice(0, 10);
};
const slot = (n: number, at: string, pct: unknown = 1) => ({
  slot_number: n,
  ros_percentage: pct,
  scheduled_for: at,
});

Deno.test("a JSON true reaches a boolean parameter as true", async () => {
  const probe = untypedClient(stack.service_role_key);
  const { data, error } = await probe.rpc("zz_types", { p_b: true });
  assert.equal(error, null);
  assert.equal(data.b, true);
  const f = await probe.rpc("zz_types", { p_b: false });
  assert.equal(f.data.b, false);
});

Deno.test("a multi-slot day declared with p_multi_slot_enabled: true is accepted", async () => {
  const d = nextDay();
  const r = await rpcHttp("admin_queue_distribution", {
    p_distribution_date: d,
    p_multi_slot_enabled: true,
    p_slots: [slot(1, `${d}T09:00:00+01:00`), slot(2, `${d}T10:00:00+01:00`)],
  }, admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.multi_slot_enabled, true);
  assert.equal(r.body.slots.length, 2);
});

Deno.test("dates are Postgres dates: an impossible day is 400 22008, never another day", async () => {
  const r = await rpcHttp("zz_types", { p_d: "2031-02-30" });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, "22008");
  const zero = await rpcHttp("zz_types", { p_d: 0 });
  assert.equal(zero.status, 400);
  assert.match(zero.body.code, /^22/);
  // A time of day after the date is ignored by Postgres' date input; JS Date moved it a day on.
  const late = await rpcHttp("zz_types", { p_d: "2031-03-01T23:30:00-05:00" });
  assert.equal(late.status, 200);
  assert.equal(late.body.d, "2031-03-01");
  const garbage = await rpcHttp(
    "admin_distribution_status",
    { p_distribution_date: "soon" },
    admin,
  );
  assert.equal(garbage.status, 400);
  assert.equal(garbage.body.code, "22007");
});

Deno.test("a deeply nested JSON argument is a 400, not 'database unavailable'", async () => {
  const deep = "[".repeat(5000) + "]".repeat(5000);
  const res = await fetch(`${stack.api_url}/rest/v1/rpc/admin_add_slots`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      apikey: stack.anon_key,
      authorization: `Bearer ${admin}`,
    },
    body: `{"p_distribution_date":"2031-01-01","p_slots":${deep}}`,
  });
  assert.equal(res.status, 400);
  assert.equal((await res.json()).code, "PGRST102");
});

Deno.test("scheduled_for honours zone names and offsets; no offset means the business zone, in every RPC", async () => {
  const d = nextDay();
  const r = await rpcHttp("admin_queue_distribution", {
    p_distribution_date: d,
    p_slots: [
      slot(1, `${d}T10:00:00`), // Lagos, +01:00
      slot(2, `${d} 10:00 UTC`),
      slot(3, `${d} 10:00 Asia/Tokyo`),
      slot(4, `${d}T10:00:00+03:00`),
    ],
  }, admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const at = (n: number) =>
    new Date(r.body.slots.find((s: { slot_number: number }) => s.slot_number === n).scheduled_for)
      .toISOString();
  assert.equal(at(1), `${d}T09:00:00.000Z`);
  assert.equal(at(2), `${d}T10:00:00.000Z`);
  assert.equal(at(3), `${d}T01:00:00.000Z`);
  assert.equal(at(4), `${d}T07:00:00.000Z`);
  // admin_update_slot takes a timestamptz: an offset-less value is read in Lagos there too.
  const u = await rpcHttp("admin_update_slot", {
    p_distribution_date: d,
    p_slot_number: 1,
    p_scheduled_for: `${d}T11:30:00`,
  }, admin);
  assert.equal(u.status, 200, JSON.stringify(u.body));
  assert.equal(new Date(u.body.scheduled_for).toISOString(), `${d}T10:30:00.000Z`);
  const now = await rpcHttp("admin_queue_distribution", {
    p_distribution_date: d,
    p_slots: [slot(5, "now")],
  }, admin);
  assert.equal(now.status, 400);
  assert.equal(now.body.code, "PT400");
});

Deno.test("NaN, Infinity and sub-cent money are refused with PT400, never stored or rounded", async () => {
  const d = nextDay();
  for (
    const [field, value] of [
      ["p_premium_pool", "NaN"],
      ["p_performance_pool", "Infinity"],
      ["p_premium_pool", "-Infinity"],
      ["p_premium_pool", 10.005],
    ] as const
  ) {
    const r = await rpcHttp("admin_queue_distribution", {
      p_distribution_date: d,
      p_slots: [slot(1, `${d}T10:00:00+01:00`)],
      [field]: value,
    }, admin);
    assert.equal(r.status, 400, `${field}=${value}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, "PT400");
  }
  const pct = await rpcHttp("admin_queue_distribution", {
    p_distribution_date: d,
    p_slots: [slot(1, `${d}T10:00:00+01:00`, "NaN")],
  }, admin);
  assert.equal(pct.status, 400);
  const [{ n }] = await sql`select count(*)::int as n from app.ros_declarations
                              where distribution_date = ${d}`;
  assert.equal(n, 0);
  for (const price of ["NaN", "Infinity", 1.001]) {
    const t = await rpcHttp("admin_register_tokenization", {
      p_property_id: `nan-${crypto.randomUUID()}`,
      p_token_address: Wallet.createRandom().address,
      p_chain_id: stack.chain_id,
      p_price_per_token: price,
    }, stack.service_role_key);
    assert.equal(t.status, 400, `price ${price}`);
    assert.equal(t.body.code, "PT400");
  }
  const user = await newInvestor(sql);
  for (const amount of ["NaN", "Infinity", 0.001]) {
    const s = await rpcHttp("create_stake", { p_amount: amount }, user.jwt);
    assert.equal(s.status, 400, `stake ${amount}`);
    const c = await rpcHttp("credit_funded_wallet", {
      p_user_id: user.id,
      p_amount: amount,
      p_reference: `ref-${crypto.randomUUID()}`,
    }, stack.service_role_key);
    assert.equal(c.status, 400, `credit ${amount}`);
    assert.equal(c.body.code, "PT400");
  }
  const inv = await rpcHttp("create_investment", {
    p_tokenization_id: stack.tokenization_id,
    p_tokens: "NaN",
  }, user.jwt);
  assert.equal(inv.status, 400);
  assert.equal(inv.body.code, "PT400");
});

Deno.test("references of a few KB are PT400 and a Paystack event's are stored bounded, never a 500 from the index", async () => {
  const user = await newInvestor(sql);
  const long = "r".repeat(4000);
  const c = await rpcHttp("credit_funded_wallet", {
    p_user_id: user.id,
    p_amount: 1,
    p_reference: long,
  }, stack.service_role_key);
  assert.equal(c.status, 400);
  assert.equal(c.body.code, "PT400");
  // A signed event is never refused: its over-long id is kept as a digest, its reference refused
  // from applying (unprocessable) and never used as a key.
  const e = await rpcHttp("record_paystack_event", {
    p_event: { event: "charge.success", data: { id: long, reference: long } },
  }, stack.service_role_key);
  assert.equal(e.status, 200);
  assert.equal(e.body.outcome, "unprocessable");
  const [{ n }] =
    await sql`select count(*)::int as n from app.paystack_events where length(event_id) > 100`;
  assert.equal(n, 0);
});

Deno.test("the treasury, a token contract and the zero address cannot be a payout wallet", async () => {
  const user = await newInvestor(sql, { wallet: false });
  for (
    const address of [
      stack.treasury_address,
      stack.treasury_address.toLowerCase(),
      stack.token_address,
      "0x0000000000000000000000000000000000000000",
    ]
  ) {
    const r = await rpcHttp("set_my_wallet_address", { p_address: address }, user.jwt);
    assert.equal(r.status, 400, address);
    assert.equal(r.body.code, "PT400");
  }
  const [{ wallet }] = await sql`select wallet_address as wallet from app.profiles
                                   where user_id = ${user.id}`;
  assert.equal(wallet, null);
});

Deno.test("one unreadable tokenization never stops reconciliation: audit_unavailable, run recorded", async () => {
  const noContract = Wallet.createRandom().address;
  const otherChain = Wallet.createRandom().address;
  for (const [address, chainId] of [[noContract, stack.chain_id], [otherChain, 999_999]] as const) {
    const r = await rpcHttp("admin_register_tokenization", {
      p_property_id: `unreadable-${crypto.randomUUID()}`,
      p_token_address: address,
      p_chain_id: chainId,
      p_price_per_token: 10,
    }, stack.service_role_key);
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  const [{ before }] = await sql`select count(*)::int as before from app.reconciliation_runs`;
  const run = await reconcile();
  assert.equal(run.status, 200, JSON.stringify(run.body));
  const [{ after }] = await sql`select count(*)::int as after from app.reconciliation_runs`;
  assert.equal(after, before + 1);
  const alerts = await rpcHttp("admin_token_alerts", {}, stack.service_role_key);
  const unavailable = alerts.body.filter((a: { kind: string }) => a.kind === "audit_unavailable")
    .map((a: { detail: { token_address: string } }) => a.detail.token_address.toLowerCase());
  assert.ok(unavailable.includes(noContract.toLowerCase()), JSON.stringify(alerts.body));
  assert.ok(unavailable.includes(otherChain.toLowerCase()));
  // The deployed token is still audited: it is not among the unavailable ones.
  assert.ok(!unavailable.includes(stack.token_address.toLowerCase()));
  await sql`delete from app.tokenizations where token_address in
              (${noContract.toLowerCase()}, ${otherChain.toLowerCase()})`;
});

Deno.test("views: an unknown column or a repeated limit is 400, as in PostgREST", async () => {
  const user = await newInvestor(sql);
  const get = (q: string) =>
    fetch(`${stack.api_url}/rest/v1/my_wallets?${q}`, {
      headers: { apikey: stack.anon_key, authorization: `Bearer ${user.jwt}` },
    });
  for (const q of ["nope=eq.1", "limit=1&limit=2", "select=nope", "kind=zz.funded", "order=nope"]) {
    const r = await get(q);
    assert.equal(r.status, 400, q);
    await r.body?.cancel();
  }
  const ok = await client(user.jwt).from("my_wallets").select("kind,balance").eq("kind", "funded");
  assert.equal(ok.error, null);
  assert.equal(ok.data?.length, 1);
});

Deno.test("GET runs an RPC read-only (a write is 405 and changes nothing); other methods are 405", async () => {
  const user = await newInvestor(sql);
  await rpcHttp("credit_funded_wallet", {
    p_user_id: user.id,
    p_amount: 100,
    p_reference: `get-${user.id}`,
  }, stack.service_role_key);
  const headers = { apikey: stack.anon_key, authorization: `Bearer ${user.jwt}` };
  const r = await fetch(`${stack.api_url}/rest/v1/rpc/create_stake?p_amount=10`, { headers });
  assert.equal(r.status, 405);
  assert.equal((await r.json()).code, "25006");
  const [{ n }] = await sql`select count(*)::int as n from app.stakes where user_id = ${user.id}`;
  assert.equal(n, 0);
  const put = await fetch(`${stack.api_url}/rest/v1/rpc/create_stake`, {
    method: "PUT",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify({ p_amount: 10 }),
  });
  assert.equal(put.status, 405);
  await put.body?.cancel();
  const read = await fetch(`${stack.api_url}/rest/v1/rpc/my_today_profit?p_date=2031-01-01`, {
    headers,
  });
  assert.equal(read.status, 200);
  assert.equal(await read.json(), 0);
});

Deno.test("the webhook refuses a body over its limit with 413 before hashing it", async () => {
  const big = JSON.stringify({ event: "charge.success", data: { id: 1, pad: "x".repeat(70_000) } });
  const r = await sendWebhook(big);
  assert.equal(r.status, 413);
});

Deno.test("closing: every ledger transaction still sums to zero after the refused inputs", async () => {
  const [{ n }] = await sql`select count(*)::int as n from (
      select transaction_id from app.ledger_entries group by transaction_id having sum(amount) <> 0) t`;
  assert.equal(n, 0);
  await sql.end();
});
