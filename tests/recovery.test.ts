// F8 and every named crash point: a distribution run dies at the point, later runs and the
// reconciler finish the work, the tokens arrive exactly once, and more runs change nothing.
import assert from "node:assert/strict";
import { db } from "./_support/stack.ts";
import {
  autoDistribute,
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

async function confirmedInvestment(tokens: number) {
  await autoDistribute(sql, false);
  const investor = await newInvestor(sql);
  const inv = await invest(investor, tokens);
  assert.equal((await sendWebhook(chargeSuccess(inv))).body.outcome, "investment_confirmed");
  return { investor, inv };
}

for (
  const point of ["after_claim", "after_sign", "after_record", "after_broadcast", "before_confirm"]
) {
  Deno.test(`crash ${point}: recovery pays exactly once`, async () => {
    const { investor, inv } = await confirmedInvestment(9);
    const crashed = await distribute({ user_id: investor.id, _fault: point });
    assert.equal(crashed.status, 500, "the run died at the injected point");
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
  await distribute({ user_id: investor.id });
  assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
  // Someone moves tokens from the treasury outside the pipeline, to this investor's wallet.
  const { Wallet, Interface, Transaction } = await import("ethers");
  const { stack } = await import("./_support/stack.ts");
  const { chain } = await import("./_support/tokens.ts");
  const w = new Wallet(stack.treasury_private_key);
  const nonce = BigInt(await chain.call<string>("eth_getTransactionCount", [w.address, "pending"]));
  const tx = Transaction.from({
    type: 2,
    chainId: BigInt(stack.chain_id),
    nonce: Number(nonce),
    to: stack.token_address,
    data: new Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [
      investor.wallet,
      5n,
    ]),
    gasLimit: 100_000n,
    maxFeePerGas: 20_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  });
  tx.signature = w.signingKey.sign(tx.unsignedHash);
  await chain.call("eth_sendRawTransaction", [tx.serialized]);
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

Deno.test({
  name: "cleanup recovery",
  fn: async () => {
    await autoDistribute(sql, true);
    await sql.end();
  },
});
