// Investors, payments and chain checks for the token tests, on the real stack.
import { Interface, Transaction, Wallet } from "ethers";
import type postgres from "postgres";
import { balanceOf, waitForReceipts } from "../../supabase/functions/_shared/chain.ts";
import { JsonRpc } from "../../supabase/functions/_shared/json-rpc.ts";
import { paystackSignature } from "../../supabase/functions/_shared/paystack-signature.ts";
import {
  chargeSuccess as chargeSuccessEvent,
  disputeEvent,
  type DisputeKind,
  refundEvent,
  type RefundStage,
} from "./paystack-events.ts";
import { rpcHttp, stack, userJwt } from "./stack.ts";

export const chain = new JsonRpc(stack.chain_rpc_url);

/**
 * Sends signed bytes and waits for their receipt. anvil mines an arriving transaction in its own
 * task, after eth_sendRawTransaction has answered: a read right after the send can run before the
 * block (a race that a fast machine loses). Returns the receipt's status.
 */
export async function sendRawAndMine(raw: string): Promise<string | undefined> {
  const hash = await chain.call<string>("eth_sendRawTransaction", [raw]);
  const [receipt] = await waitForReceipts(chain, [hash], 20_000);
  return receipt?.status;
}

/**
 * Moves `amount` tokens from the treasury to `wallet` outside the pipeline (no claim, no books),
 * as a leaked key or a manual transfer would; returns the receipt's status.
 */
export async function offBookTransfer(wallet: string, amount: bigint): Promise<string | undefined> {
  const w = new Wallet(stack.treasury_private_key);
  const nonce = BigInt(await chain.call<string>("eth_getTransactionCount", [w.address, "pending"]));
  const tx = Transaction.from({
    type: 2,
    chainId: BigInt(stack.chain_id),
    nonce: Number(nonce),
    to: stack.token_address,
    data: new Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [
      wallet,
      amount,
    ]),
    gasLimit: 100_000n,
    maxFeePerGas: 20_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  });
  tx.signature = w.signingKey.sign(tx.unsignedHash);
  return await sendRawAndMine(tx.serialized);
}

export type Investor = { id: string; wallet: string | null; jwt: string };

export async function newInvestor(
  sql: postgres.Sql,
  opts: { verified?: boolean; wallet?: boolean } = {},
): Promise<Investor> {
  const [{ id }] =
    await sql`insert into auth.users (email) values (${`inv-${crypto.randomUUID()}@test.io`}) returning id`;
  const jwt = userJwt(id);
  let wallet: string | null = null;
  if (opts.verified ?? true) await setKyc(id, "verified");
  if (opts.wallet ?? true) wallet = await setWallet(jwt);
  return { id, wallet, jwt };
}

export async function setKyc(userId: string, status: string) {
  const r = await rpcHttp(
    "admin_set_kyc_status",
    { p_user_id: userId, p_status: status },
    stack.service_role_key,
  );
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
}

export async function setWallet(jwt: string): Promise<string> {
  const address = Wallet.createRandom().address;
  const r = await rpcHttp("set_my_wallet_address", { p_address: address }, jwt);
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return address;
}

export type Investment = {
  investment_id: string;
  reference: string;
  amount_subunit: number;
  currency: string;
  tokens: string;
};

export async function invest(investor: Investor, tokens: number): Promise<Investment> {
  const r = await rpcHttp("create_investment", {
    p_tokenization_id: stack.tokenization_id,
    p_tokens: tokens,
  }, investor.jwt);
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  return r.body;
}

/** A signed-ready charge.success for an investment, in Paystack's published shape; `overrides`
 * change values of its data (amount, currency, requested_amount, metadata...). */
export function chargeSuccess(inv: Investment, overrides: Record<string, unknown> = {}) {
  const e = chargeSuccessEvent({
    reference: inv.reference,
    amount: inv.amount_subunit,
    currency: inv.currency,
  });
  Object.assign(e.data, overrides);
  return JSON.stringify(e);
}

/** refund.<stage> for an investment, in Paystack's shape (no data.id); the whole amount unless
 * `amount` (kobo) says otherwise. */
export function refund(inv: Investment, stage: RefundStage, amount?: number) {
  return JSON.stringify(
    refundEvent(stage, { reference: inv.reference, amount: amount ?? inv.amount_subunit }),
  );
}

/** charge.dispute.<kind> for an investment, in Paystack's shape. */
export function dispute(
  inv: Investment,
  kind: DisputeKind,
  disputeId: number,
  resolution?: string,
) {
  return JSON.stringify(
    disputeEvent(kind, {
      id: disputeId,
      reference: inv.reference,
      amount: inv.amount_subunit,
      currency: inv.currency,
      resolution,
    }),
  );
}

/** fetch, retried once when the connection itself fails (a keep-alive socket closed by the
 * server as the request went out). Every endpoint used here is idempotent, like Paystack's own
 * retries assume. */
async function post(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    await new Promise((r) => setTimeout(r, 50));
    return await fetch(url, init);
  }
}

export async function sendWebhook(body: string, signature?: string) {
  const sig = signature ??
    paystackSignature(new TextEncoder().encode(body), stack.paystack_secret_key);
  const res = await post(`${stack.api_url}/functions/v1/paystack-webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-paystack-signature": sig },
    body,
  });
  return { status: res.status, body: await res.json() };
}

export async function callFunction(name: string, body: unknown = {}) {
  const res = await post(`${stack.api_url}/functions/v1/${name}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${stack.service_role_key}`,
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

export const distribute = (body: Record<string, unknown> = {}) =>
  callFunction("distribute-tokens", body);
export const reconcile = (body: Record<string, unknown> = {}) =>
  callFunction("reconcile-token-distributions", { stale_after_seconds: 0, ...body });

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function status(sql: postgres.Sql, investmentId: string): Promise<string> {
  const [r] = await sql`select payment_status from app.investments where id = ${investmentId}`;
  return r.payment_status;
}

export async function onChain(address: string): Promise<bigint> {
  return await balanceOf(chain, stack.token_address, address);
}

export async function holdings(sql: postgres.Sql, userId: string): Promise<bigint> {
  const [r] =
    await sql`select balance::text as b from app.token_holdings where user_id = ${userId} and tokenization_id = ${stack.tokenization_id}`;
  return BigInt(r?.b ?? 0);
}

/** Sets whether a confirmed payment immediately queues a distribution (tests that drive each step
 * themselves turn it off). */
export async function autoDistribute(sql: postgres.Sql, on: boolean) {
  await sql`update app.settings set value = ${on ? "on" : "off"} where key = 'auto_distribute'`;
}

/** ARCHITECTURE.md's token invariants for these investors, checked against the chain (scoped, so
 * that a test that deliberately breaks one investor's books does not fail the others). */
export async function tokenInvariants(sql: postgres.Sql, userIds: string[]): Promise<string[]> {
  const bad: string[] = [];
  const rows = await sql<
    { user_id: string; wallet: string | null; balance: string; distributed: string }[]
  >`
    select h.user_id, p.wallet_address as wallet, h.balance::text as balance,
           coalesce((select sum(i.tokens) from app.investments i where i.user_id = h.user_id
                      and i.tokenization_id = h.tokenization_id and i.payment_status = 'tokens_distributed'), 0)::text as distributed
      from app.token_holdings h join app.profiles p on p.user_id = h.user_id
     where h.tokenization_id = ${stack.tokenization_id} and h.user_id = any(${userIds}::uuid[])`;
  for (const r of rows) {
    if (r.balance !== r.distributed) {
      bad.push(`holdings ${r.balance} != distributed ${r.distributed} for ${r.user_id}`);
    }
    if (r.wallet) {
      const c = await onChain(r.wallet);
      if (c.toString() !== r.balance) {
        bad.push(`chain ${c} != holdings ${r.balance} for ${r.user_id}`);
      }
    }
  }
  const dupNonces = await sql`
    select nonce from app.token_transfers where status = 'confirmed' group by chain_id, signer, nonce having count(*) > 1`;
  if (dupNonces.length) bad.push(`nonces confirmed twice: ${dupNonces.map((d) => d.nonce)}`);
  const orphan = await sql`
    select i.id from app.investments i left join app.token_transfers t on t.id = i.transfer_id
     where i.payment_status = 'tokens_distributed' and (t.status is distinct from 'confirmed')`;
  if (orphan.length) {
    bad.push(`${orphan.length} investments distributed without a confirmed transfer`);
  }
  const twice = await sql`
    select investment_id from app.investment_events where status = 'success' group by investment_id having count(*) > 1`;
  if (twice.length) bad.push(`${twice.length} investments distributed more than once`);
  return bad;
}
