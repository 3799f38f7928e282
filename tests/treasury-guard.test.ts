// The treasury never signs what it cannot pay for (issue 11, treasury guard), on real anvil:
// - short of tokens (a token whose treasury gave most of its supply away): the oldest transfer
//   that fits goes, the rest waits `deferred` (treasury_tokens) with an alert, and goes out by
//   itself once the treasury is topped up;
// - short of gas (anvil_setBalance): nothing is signed (treasury_gas) until the balance is back;
// - a transfer the node says would revert is never sent: its nonce is released and filled at once,
//   so the transfer after it in the same run is still mined.
import assert from "node:assert/strict";
import { Transaction, Wallet } from "ethers";
import {
  balanceOf,
  erc20,
  pendingNonce,
  waitForReceipts,
} from "../supabase/functions/_shared/chain.ts";
import { deployPropertyToken } from "../local/stack/token.ts";
import { db, rpcHttp, stack } from "./_support/stack.ts";
import {
  autoDistribute,
  chain,
  chargeSuccess,
  distribute,
  type Investment,
  type Investor,
  newInvestor,
  sendWebhook,
  status,
  tokenInvariants,
} from "./_support/tokens.ts";

const sql = db();
const svc = (fn: string, body: unknown) => rpcHttp(fn, body, stack.service_role_key);
const treasury = new Wallet(stack.treasury_private_key);
// Anvil's third default account: somewhere for the treasury's tokens to be, and come back from.
const holder = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");

type Alert = { kind: string; detail?: Record<string, string> };
const alerts = async () => (await svc("admin_token_alerts", {})).body as Alert[];

async function sendTokens(from: Wallet, token: string, to: string, amount: bigint) {
  const tx = Transaction.from({
    type: 2,
    chainId: BigInt(stack.chain_id),
    nonce: Number(await pendingNonce(chain, from.address)),
    to: token,
    data: erc20.encodeFunctionData("transfer", [to, amount]),
    gasLimit: 100_000n,
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  });
  tx.signature = from.signingKey.sign(tx.unsignedHash);
  const hash = await chain.call<string>("eth_sendRawTransaction", [tx.serialized]);
  const [receipt] = await waitForReceipts(chain, [hash], 20_000);
  assert.equal(receipt?.status, "0x1", "token transfer outside the pipeline");
}

async function investIn(investor: Investor, tokenizationId: string, tokens: number) {
  const r = await rpcHttp("create_investment", {
    p_tokenization_id: tokenizationId,
    p_tokens: tokens,
  }, investor.jwt);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const inv = r.body as Investment;
  assert.equal((await sendWebhook(chargeSuccess(inv))).status, 200);
  return inv;
}

Deno.test("treasury short of tokens: the oldest that fits goes, the rest waits (treasury_tokens) until a top-up", async () => {
  await autoDistribute(sql, false);
  try {
    // A token of 16 whose treasury keeps 10: room for one investment of 6, not two.
    const token = await deployPropertyToken(chain, stack.chain_id, stack.treasury_private_key, {
      name: "Short Treasury Token",
      symbol: "STT",
      supply: 16n,
      decimals: 0,
    });
    await sendTokens(treasury, token, holder.address, 6n);
    const reg = await svc("admin_register_tokenization", {
      p_property_id: `short-${crypto.randomUUID()}`,
      p_token_address: token,
      p_chain_id: stack.chain_id,
      p_price_per_token: 100,
      p_currency: "NGN",
      p_decimals: 0,
    });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    const tokenizationId = reg.body.tokenization_id as string;
    const first = await newInvestor(sql);
    const second = await newInvestor(sql);
    const a = await investIn(first, tokenizationId, 6);
    const b = await investIn(second, tokenizationId, 6);

    const short = await distribute({ tokenization_id: tokenizationId });
    assert.equal(short.status, 200, JSON.stringify(short.body));
    assert.equal(short.body.claimed, 1, "only what the treasury holds is claimed");
    assert.equal(short.body.confirmed, 1);
    assert.equal(short.body.deferred, 1);
    assert.equal(short.body.deferred_reason, "treasury_tokens");
    assert.equal(await status(sql, a.investment_id), "tokens_distributed", "the oldest went first");
    assert.equal(await status(sql, b.investment_id), "confirmed", "the other waits, confirmed");
    const raised = (await alerts()).find((x) => x.kind === "treasury_insufficient_tokens");
    assert.ok(raised, "treasury_insufficient_tokens is raised");
    assert.equal(raised.detail?.token_address, token.toLowerCase());

    // Still short: another run claims nothing and signs nothing.
    const again = await distribute({ tokenization_id: tokenizationId });
    assert.equal(again.body.claimed, 0);
    assert.equal(again.body.deferred_reason, "treasury_tokens");

    // Topped up: it goes out by itself on the next run, and the alert clears.
    await sendTokens(holder, token, treasury.address, 6n);
    const topped = await distribute({ tokenization_id: tokenizationId });
    assert.equal(topped.body.claimed, 1);
    assert.equal(topped.body.confirmed, 1);
    assert.equal(topped.body.deferred, 0);
    assert.equal(await status(sql, b.investment_id), "tokens_distributed");
    assert.ok(!(await alerts()).some((x) => x.kind === "treasury_insufficient_tokens"));
    assert.equal(await balanceOf(chain, token, second.wallet!), 6n);
    assert.equal(await balanceOf(chain, token, first.wallet!), 6n);
    assert.equal(
      await balanceOf(chain, token, treasury.address),
      4n,
      "nothing reverted, nothing lost",
    );
  } finally {
    await autoDistribute(sql, true);
  }
});

Deno.test("treasury short of gas: nothing is signed (treasury_gas) until the balance is back", async () => {
  await autoDistribute(sql, false);
  const balance = await chain.call<string>("eth_getBalance", [treasury.address, "latest"]);
  try {
    const investor = await newInvestor(sql);
    const inv = await investIn(investor, stack.tokenization_id!, 2);
    const nonceBefore = await pendingNonce(chain, treasury.address);
    await chain.call("anvil_setBalance", [treasury.address, "0x3e8"]); // 1,000 wei: not one transfer's gas
    const dry = await distribute({ user_id: investor.id });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.claimed, 0);
    assert.equal(dry.body.deferred, 1);
    assert.equal(dry.body.deferred_reason, "treasury_gas");
    assert.equal(await status(sql, inv.investment_id), "confirmed");
    assert.equal(await pendingNonce(chain, treasury.address), nonceBefore, "nothing was sent");
    assert.ok((await alerts()).some((x) => x.kind === "treasury_insufficient_gas"));

    await chain.call("anvil_setBalance", [treasury.address, balance]);
    const wet = await distribute({ user_id: investor.id });
    assert.equal(wet.body.claimed, 1);
    assert.equal(wet.body.confirmed, 1);
    assert.equal(await status(sql, inv.investment_id), "tokens_distributed");
    assert.ok(!(await alerts()).some((x) => x.kind === "treasury_insufficient_gas"));
    assert.deepEqual(await tokenInvariants(sql, [investor.id]), []);
  } finally {
    await chain.call("anvil_setBalance", [treasury.address, balance]);
    await autoDistribute(sql, true);
  }
});

Deno.test("a transfer that would revert is not sent; its nonce is filled at once so the next one is mined", async () => {
  await autoDistribute(sql, false);
  try {
    const broken = await newInvestor(sql);
    const fine = await newInvestor(sql);
    // A row no RPC would write (set_my_wallet_address refuses the zero address): the token's
    // transfer to it reverts, which eth_estimateGas reports before anything is signed.
    await sql`update app.profiles set wallet_address = '0x0000000000000000000000000000000000000000'
               where user_id = ${broken.id}`;
    const bad = await investIn(broken, stack.tokenization_id!, 1);
    const good = await investIn(fine, stack.tokenization_id!, 4);
    const used = await pendingNonce(chain, treasury.address);

    const run = await distribute({ tokenization_id: stack.tokenization_id! });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.claimed, 2);
    assert.equal(run.body.failed, 1, "the reverting one is refused");
    assert.equal(run.body.confirmed, 1, "the one after its nonce is still mined in this run");
    assert.equal(await status(sql, good.investment_id), "tokens_distributed");
    assert.equal(await status(sql, bad.investment_id), "confirmed", "it waits for a fix");
    const [refused] = await sql`
      select t.status, t.error, t.nonce, t.tx_hash from app.token_transfers t
       where t.user_id = ${broken.id}`;
    assert.equal(refused.status, "failed");
    assert.match(refused.error, /would revert/);
    assert.equal(refused.tx_hash, null, "never signed");
    // The chain: its nonce holds a no-op to the treasury itself, never a transfer to the zero address.
    const filled = await chain.call<string>("eth_getTransactionCount", [
      treasury.address,
      "latest",
    ]);
    assert.equal(BigInt(filled), used + 2n, "the filler and the good transfer, no gap");
    const [released] = await sql`select count(*)::int as n from app.released_nonces
                                  where nonce = ${refused.nonce}`;
    assert.equal(released.n, 0, "the released nonce was filled");

    // Fixed wallet: the next run pays it, once.
    await sql`update app.profiles set wallet_address = ${Wallet.createRandom().address.toLowerCase()} where user_id = ${broken.id}`;
    const retry = await distribute({ user_id: broken.id });
    assert.equal(retry.body.confirmed, 1);
    assert.deepEqual(await tokenInvariants(sql, [broken.id, fine.id]), []);
  } finally {
    await autoDistribute(sql, true);
    await sql.end();
  }
});
