// F8 and every named crash point: a distribution run dies at the point (thrown, or stopped by the
// edge runtime at its CPU limit), later runs and the reconciler finish the work, the tokens arrive exactly once, and more runs change nothing.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { restartCluster } from "../local/stack/postgres.ts";
import { db, rpcHttp, stack } from "./_support/stack.ts";

async function callService(fn: string, body: unknown) {
  const r = await rpcHttp(fn, body, stack.service_role_key);
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body;
}
import {
  autoDistribute,
  chain,
  chargeSuccess,
  distribute,
  holdings,
  invest,
  newInvestor,
  offBookTransfer,
  onChain,
  reconcile,
  sendWebhook,
  status,
  tokenInvariants,
} from "./_support/tokens.ts";

const sql = db();
// Every investor whose books must be exact at the end (the off-book scenario breaks one on purpose).
const everyone: string[] = [];

async function confirmedInvestment(tokens: number) {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  everyone.push(investor.id);
  const inv = await invest(investor, tokens);
  assert.equal((await sendWebhook(chargeSuccess(inv))).body.outcome, "investment_confirmed");
  return { investor, inv };
}

// Each point twice: the run throws there (500), or it burns CPU there until the edge runtime stops
// its worker at the 2 s limit (546), so not even its error handling runs.
const POINTS = ["after_claim", "after_sign", "after_record", "after_broadcast", "before_confirm"];
for (const point of [...POINTS, ...POINTS.map((p) => `spin_${p}`)]) {
  const stopped = point.startsWith("spin_");
  Deno.test(`${stopped ? "stopped at the CPU limit" : "crash"} ${point}: recovery pays exactly once`, async () => {
    const { investor, inv } = await confirmedInvestment(9);
    const crashed = await distribute({ user_id: investor.id, _fault: point });
    assert.equal(crashed.status, stopped ? 546 : 500, "the run died at the injected point");
    if (stopped) assert.equal(crashed.body.code, "WORKER_LIMIT");
    assert.equal(
      await status(sql, inv.investment_id),
      "distributing",
      "claimed, so no other run takes it",
    );
    const second = await distribute({ user_id: investor.id });
    assert.equal(second.body.claimed, 0, "a new run does not distribute it again (F8)");
    const fixed = await reconcile();
    assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
    assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    assert.equal(await onChain(investor.wallet!), 9n, "on chain exactly once");
    assert.equal(await holdings(sql, investor.id), 9n, "in the books exactly once");
    const again = await reconcile();
    assert.equal(again.body.confirmed, 0, "a second reconciliation changes nothing");
    assert.equal(await onChain(investor.wallet!), 9n);
    assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
  });
}

Deno.test("F8: the status update fails after the on-chain transfer; the retry does not pay again", async () => {
  const { investor, inv } = await confirmedInvestment(4);
  // The database refuses the confirmation (as a failed status update would).
  await sql.unsafe(`
    create or replace function app.zz_refuse_holdings() returns trigger language plpgsql as $$
    begin raise exception 'injected database error on confirm'; end $$;
    create trigger zz_refuse_holdings before insert or update on app.token_holdings
      for each row when (new.user_id = '${investor.id}') execute function app.zz_refuse_holdings();`);
  try {
    const run = await distribute({ user_id: investor.id });
    assert.equal(run.status, 502, "the run reports the failure");
    assert.equal(await onChain(investor.wallet!), 4n, "the transfer itself was mined");
    assert.equal(await status(sql, inv.investment_id), "distributing");
  } finally {
    await sql.unsafe(
      `drop trigger zz_refuse_holdings on app.token_holdings; drop function app.zz_refuse_holdings();`,
    );
  }
  assert.equal(
    (await distribute({ user_id: investor.id })).body.claimed,
    0,
    "no new transfer is planned",
  );
  const fixed = await reconcile();
  assert.equal(fixed.body.confirmed >= 1, true);
  assert.equal(await onChain(investor.wallet!), 4n, "still exactly once on chain");
  assert.equal(await holdings(sql, investor.id), 4n);
  assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
});

Deno.test("an off-book transfer from the treasury is flagged, never repaired by paying again", async () => {
  const { investor, inv } = await confirmedInvestment(2);
  everyone.splice(everyone.indexOf(investor.id), 1); // this one is made inconsistent on purpose
  await distribute({ user_id: investor.id });
  assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
  // Someone moves tokens from the treasury outside the pipeline, to this investor's wallet.
  assert.equal(await offBookTransfer(investor.wallet!, 5n), "0x1");
  const r = await reconcile();
  const mine = r.body.discrepancies.filter((d: { user_id?: string; kind: string }) =>
    d.user_id === investor.id || d.kind === "treasury_vs_books"
  );
  assert.ok(
    mine.some((d: { kind: string }) => d.kind === "chain_vs_holdings"),
    "the wallet is flagged",
  );
  assert.ok(
    mine.some((d: { kind: string }) => d.kind === "treasury_vs_books"),
    "the treasury is flagged",
  );
  assert.equal(await holdings(sql, investor.id), 2n, "the books are not rewritten");
  assert.equal(await onChain(investor.wallet!), 7n, "and nothing more is paid");
  // Later claims skip the nonce the off-book transfer used (greatest of stored and chain).
  const next = await confirmedInvestment(1);
  const d = await distribute({ user_id: next.investor.id });
  assert.equal(d.body.confirmed, 1);
  assert.equal(await onChain(next.investor.wallet!), 1n);
});

Deno.test("dropped transactions: the reconciler rebroadcasts the recorded bytes, once", async () => {
  const a = await confirmedInvestment(3);
  const b = await confirmedInvestment(5);
  await chain.call("evm_setAutomine", [false]);
  let hashes: string[] = [];
  try {
    const run = await distribute({ receipt_timeout_ms: 200 });
    assert.equal(run.body.claimed >= 2, true);
    assert.equal(run.body.pending >= 2, true, "nothing mined while mining is paused");
    const rows = await sql<{ tx_hash: string }[]>`
      select tx_hash from app.token_transfers where user_id in (${a.investor.id}, ${b.investor.id})`;
    hashes = rows.map((r) => r.tx_hash);
    // The node forgets them (a dropped transaction, or an RPC node that lost its pool).
    for (const h of hashes) await chain.call("anvil_dropTransaction", [h]);
  } finally {
    await chain.call("evm_setAutomine", [true]);
  }
  await chain.call("evm_mine", []);
  assert.equal(await onChain(a.investor.wallet!), 0n, "dropped: nothing arrived");
  const fixed = await reconcile();
  assert.equal(fixed.body.rebroadcast >= 2, true, JSON.stringify(fixed.body));
  assert.equal(await onChain(a.investor.wallet!), 3n);
  assert.equal(await onChain(b.investor.wallet!), 5n);
  assert.equal(await status(sql, a.inv.investment_id), "tokens_distributed");
  assert.equal((await reconcile()).body.rebroadcast, 0, "nothing left to resend");
  assert.deepEqual(await tokenInvariants(sql, [a.investor.id, b.investor.id]), []);
});

Deno.test("mining paused during a run: the transfers confirm once mining resumes", async () => {
  const { investor, inv } = await confirmedInvestment(6);
  await chain.call("evm_setAutomine", [false]);
  try {
    const run = await distribute({ user_id: investor.id, receipt_timeout_ms: 300 });
    assert.equal(run.body.pending, 1, "no receipt yet: left for reconciliation");
    assert.equal(await status(sql, inv.investment_id), "distributing");
    const early = await reconcile({ receipt_timeout_ms: 300 });
    assert.equal(early.body.confirmed, 0, "still unmined: nothing confirmed, nothing failed");
    assert.equal(early.body.failed, 0);
  } finally {
    await chain.call("evm_setAutomine", [true]);
  }
  await chain.call("evm_mine", []);
  const fixed = await reconcile();
  assert.equal(fixed.body.confirmed >= 1, true);
  assert.equal(await onChain(investor.wallet!), 6n);
  assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
});

Deno.test("a stuck transfer gets a fee-bumped replacement at the same nonce; whichever is mined confirms", async () => {
  const { investor, inv } = await confirmedInvestment(2);
  // A policy with room above the chain's suggested tip (1 gwei here): at the default tip cap of
  // 1 gwei no replacement may be signed at all (nodes require both fees +10 %).
  const policy = (fee: string, tip: string) =>
    rpcHttp("admin_set_chain_policy", {
      p_chain_id: stack.chain_id,
      p_max_fee_per_gas: fee,
      p_max_priority_fee_per_gas: tip,
    }, stack.service_role_key);
  await policy("100000000000", "5000000000");
  await chain.call("evm_setAutomine", [false]);
  try {
    await distribute({ user_id: investor.id, receipt_timeout_ms: 200 });
    const bumped = await reconcile({ bump_after_seconds: 0, receipt_timeout_ms: 200 });
    assert.equal(bumped.body.bumped, 1, JSON.stringify(bumped.body));
  } finally {
    await chain.call("evm_setAutomine", [true]);
    await policy("20000000000", "1000000000"); // the documented default, as the other tests expect
  }
  await chain.call("evm_mine", []);
  const [t] =
    await sql`select t.nonce, (select count(*)::int from app.transfer_attempts a where a.transfer_id = t.id) as attempts
    from app.token_transfers t where t.user_id = ${investor.id}`;
  assert.equal(t.attempts, 2, "both attempts are kept");
  await reconcile();
  assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
  assert.equal(await onChain(investor.wallet!), 2n, "one nonce, mined once");
  assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
});

Deno.test("a Postgres restart in the middle of a run: recovery finishes it, once", async () => {
  const { investor, inv } = await confirmedInvestment(8);
  const run = distribute({ user_id: investor.id }).catch(() => null);
  await new Promise((r) => setTimeout(r, 15));
  await restartCluster(dirname(Deno.env.get("STACK_JSON")!), new URL(stack.db_url).port);
  await run;
  const sql2 = db();
  try {
    for (
      let i = 0;
      i < 3 && (await status(sql2, inv.investment_id)) !== "tokens_distributed";
      i++
    ) {
      await reconcile();
      await distribute({ user_id: investor.id });
    }
    assert.equal(await status(sql2, inv.investment_id), "tokens_distributed");
    assert.equal(await onChain(investor.wallet!), 8n);
    assert.deepEqual(await tokenInvariants(sql2, [investor.id]), []);
  } finally {
    await sql2.end();
  }
});

Deno.test("a released nonce below live transfers is filled, so one lost nonce cannot block the queue", async () => {
  const a = await confirmedInvestment(1);
  const b = await confirmedInvestment(2);
  await chain.call("evm_setAutomine", [false]);
  try {
    await distribute({ receipt_timeout_ms: 100 });
    const [first, second] = await sql<{ id: string; nonce: string; tx_hash: string }[]>`
      select id, nonce, tx_hash from app.token_transfers
       where user_id in (${a.investor.id}, ${b.investor.id}) order by nonce`;
    // The lower one is lost before it was ever mined, and declared unminable: its nonce is released.
    await chain.call("anvil_dropTransaction", [first.tx_hash]);
    const failed = await callService("fail_token_transfer", {
      p_transfer_id: first.id,
      p_error: "lost before mining",
      p_nonce_consumed: false,
    });
    assert.equal(failed.nonce_released, true);
    assert.ok(Number(second.nonce) > Number(first.nonce));
  } finally {
    await chain.call("evm_setAutomine", [true]);
  }
  await chain.call("evm_mine", []);
  const fixed = await reconcile();
  assert.equal(fixed.body.gaps_filled, 1, JSON.stringify(fixed.body));
  // The higher nonce could only be mined once the gap below it was filled.
  const who = (await sql`select user_id from app.token_transfers where status = 'confirmed'
    and user_id in (${a.investor.id}, ${b.investor.id})`).map((r) => r.user_id);
  assert.equal(who.length, 1, "the queued transfer confirmed after the gap was filled");
  // The released investment is planned again, on a fresh nonce.
  for (let i = 0; i < 3; i++) await distribute();
  assert.equal(await onChain(a.investor.wallet!), 1n);
  assert.equal(await onChain(b.investor.wallet!), 2n);
  assert.deepEqual(await tokenInvariants(sql, [a.investor.id, b.investor.id]), []);
});

Deno.test({
  name: "after every recovery scenario: chain = holdings = distributed for every investor",
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
