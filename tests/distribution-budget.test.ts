// distribute-tokens within the edge runtime's CPU limit (CONTRACT "Platform limits"): a run claims
// a chunk at a time and claims no more once its budget is spent, answering `more: true`; the next
// calls take the rest; every investment is paid exactly once. A test stack may lower the budget
// (`_cpu_budget_ms`, honoured only where ALLOW_FAULT_INJECTION=1) so the stop is seen with a few
// hundred transfers instead of more than a call may ask for.
import assert from "node:assert/strict";
import { Wallet } from "ethers";
import { db, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  distribute,
  onChain,
  tokenInvariants,
  waitFor,
} from "./_support/tokens.ts";

const sql = db();

/** N confirmed investments of one token each, of N verified investors with wallets. */
async function confirmedInvestments(n: number) {
  const wallets = Array.from({ length: n }, () => Wallet.createRandom().address.toLowerCase());
  const users = await sql<{ id: string }[]>`
    insert into auth.users (email)
    select 'budget-' || gen_random_uuid() || '@test.local' from generate_series(1, ${n}) returning id`;
  const ids = users.map((u) => u.id);
  await sql`
    update app.profiles p set kyc_status = 'verified', wallet_address = w.addr
      from (select unnest(${ids}::uuid[]) as id, unnest(${wallets}::text[]) as addr) w
     where p.user_id = w.id`;
  await sql`
    insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency,
                                 reference, payment_status, confirmed_at)
    select u, ${stack.tokenization_id}, 1, 1000, 100000, 'NGN', 'BUDGET-' || gen_random_uuid(),
           'confirmed', now()
      from unnest(${ids}::uuid[]) u`;
  return { ids, wallets };
}

Deno.test("a run stops claiming at its CPU budget (more: true); the next calls pay the rest, once", async () => {
  await autoDistribute(sql, false);
  try {
    const { ids, wallets } = await confirmedInvestments(250);
    const first = await distribute({ limit: 1000, _cpu_budget_ms: 1, receipt_timeout_ms: 20_000 });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.more, true, "stopped at the budget, work left");
    assert.equal(first.body.claimed, 100, "one chunk: nothing claimed that was not signed");
    assert.equal(first.body.deferred, 0, "work left for the budget is not deferred");
    const [{ planned }] = await sql`select count(*)::int as planned from app.token_transfers
      where user_id = any(${ids}::uuid[]) and status in ('planned', 'signed')`;
    assert.equal(planned, 0, "every claimed transfer was signed and sent");
    let calls = 1;
    for (let more = true; more && calls < 10; calls++) {
      const r = await distribute({ limit: 1000, receipt_timeout_ms: 20_000 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      more = r.body.more;
    }
    const [{ paid }] = await sql`select count(*)::int as paid from app.investments
      where user_id = any(${ids}::uuid[]) and payment_status = 'tokens_distributed'`;
    assert.equal(paid, 250);
    assert.deepEqual(await tokenInvariants(sql, ids), []);
    for (const w of [wallets[0], wallets[137], wallets[249]]) assert.equal(await onChain(w), 1n);
  } finally {
    await autoDistribute(sql, true);
  }
});

Deno.test("with auto_distribute on, a run stopped at its budget queues the next, which pays the rest", async () => {
  await autoDistribute(sql, true);
  const { ids } = await confirmedInvestments(150);
  const first = await distribute({ limit: 1000, _cpu_budget_ms: 1, receipt_timeout_ms: 20_000 });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.more, true);
  assert.equal(first.body.claimed, 100);
  // No other call from here: the run it queued through pg_net takes the other 50.
  await waitFor("the queued run to pay the rest", async () => {
    const [{ paid }] = await sql`select count(*)::int as paid from app.investments
      where user_id = any(${ids}::uuid[]) and payment_status = 'tokens_distributed'`;
    return paid === 150;
  }, 30_000);
  assert.deepEqual(await tokenInvariants(sql, ids), []);
});

Deno.test("the budget is a test stack's knob only within the real one: above it is refused", async () => {
  const r = await distribute({ limit: 1, _cpu_budget_ms: 5_000 });
  assert.equal(r.status, 400, JSON.stringify(r.body));
});

Deno.test("close", async () => {
  await sql.end();
});
