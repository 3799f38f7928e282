// Token distribution throughput: N confirmed investments of N investors distributed end to end by
// the distribute-tokens function (claim -> sign -> record -> broadcast -> receipts -> confirm),
// beside, in the same run on the same chain:
//  - the sequential baseline: sign, send, wait for the receipt, one transfer at a time (no DB);
//  - the raw pipelined ceiling: sign all, broadcast all, collect receipts (no DB).
import { Wallet } from "ethers";
import type postgres from "postgres";
import {
  broadcast,
  pendingNonce,
  signTransfer,
  waitForReceipts,
} from "../supabase/functions/_shared/chain.ts";
import { JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";
import type { StackInfo } from "../local/stack.ts";

/** One distribute-tokens call: what it claimed, its CPU (the gateway's x-edge-cpu-ms) and wall. */
export type CallCost = { claimed: number; cpuMs: number; ms: number; more: boolean };

export type TokenResult = {
  n: number;
  /** The calls it took, each within the edge runtime's 2 s of CPU. */
  calls: CallCost[];
  pipelineTps: number;
  sequentialTps: number;
  sequentialTypicalTps: number;
  rawTps: number;
  confirmed: number;
};

/** One KYC-verified investor per wallet, in one statement each; returns their ids in order. */
export async function verifiedInvestors(
  tx: postgres.TransactionSql,
  emailPrefix: string,
  wallets: string[],
): Promise<string[]> {
  const users = await tx<{ id: string }[]>`
    insert into auth.users (email) select ${emailPrefix}::text || gen_random_uuid()::text || '@bench.test'
      from generate_series(1, ${wallets.length}) returning id`;
  const ids = users.map((u) => u.id);
  await tx`
    update app.profiles p set kyc_status = 'verified', wallet_address = w.addr
      from (select unnest(${ids}::uuid[]) as id, unnest(${wallets}::text[]) as addr) w
     where p.user_id = w.id`;
  return ids;
}

/** N confirmed investments of N verified investors with wallets; returns the investors' ids. */
export async function arrange(sql: postgres.Sql, stack: StackInfo, n: number): Promise<string[]> {
  const wallets = Array.from({ length: n }, () => Wallet.createRandom().address.toLowerCase());
  return await sql.begin(async (tx) => {
    await tx`update app.settings set value = 'off' where key = 'auto_distribute'`;
    const ids = await verifiedInvestors(tx, "tok-bench-", wallets);
    await tx`
      insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference,
                                   payment_status, confirmed_at)
      select u, ${stack.tokenization_id}, 1, 1000, 100000, 'NGN', 'BENCH-' || gen_random_uuid(), 'confirmed', now()
        from unnest(${ids}::uuid[]) u`;
    return ids;
  });
}

/** One distribute-tokens call through the gateway, with its cost. */
export async function distributeCall(stack: StackInfo, body: Record<string, unknown>) {
  const t = performance.now();
  const res = await fetch(`${stack.api_url}/functions/v1/distribute-tokens`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${stack.service_role_key}`,
    },
    body: JSON.stringify(body),
  });
  const out = await res.json();
  if (!res.ok) throw new Error(`distribute-tokens answered ${res.status}: ${JSON.stringify(out)}`);
  const cost: CallCost = {
    claimed: out.claimed,
    cpuMs: Number(res.headers.get("x-edge-cpu-ms")),
    ms: performance.now() - t,
    more: out.more,
  };
  return { out, cost };
}

function plans(stack: StackInfo, n: number, firstNonce: bigint) {
  return Array.from({ length: n }, (_, i) => ({
    token_address: stack.token_address,
    to_address: Wallet.createRandom().address,
    amount: "1",
    nonce: Number(firstNonce) + i,
    chain_id: stack.chain_id,
    gas_limit: 120_000,
    max_fee_per_gas: "20000000000",
    max_priority_fee_per_gas: "1000000000",
  }));
}

export async function benchTokens(
  sql: postgres.Sql,
  stack: StackInfo,
  n: number,
  baselineN: number,
): Promise<TokenResult> {
  const chain = new JsonRpc(stack.chain_rpc_url, 60_000);
  const wallet = new Wallet(stack.treasury_private_key);

  // Sequential send-and-wait baselines: the best case (receipt polled every 2 ms over fetch), and
  // a typical one (receipt polled every 25 ms, the pipeline's own interval).
  const sequential = async (pollMs: number) => {
    const nonce = await pendingNonce(chain, wallet.address);
    const ps = plans(stack, baselineN, nonce);
    const t0 = performance.now();
    for (const p of ps) {
      const s = signTransfer(wallet, p);
      await chain.call("eth_sendRawTransaction", [s.raw]);
      const [r] = await waitForReceipts(chain, [s.hash], 10_000, pollMs);
      if (!r) throw new Error("baseline transfer not mined");
    }
    return baselineN / ((performance.now() - t0) / 1000);
  };
  const sequentialTps = await sequential(2);
  const sequentialTypicalTps = await sequential(25);

  // Raw pipelined ceiling.
  const nonce = await pendingNonce(chain, wallet.address);
  const rawPlans = plans(stack, n, nonce);
  let t = performance.now();
  const signed = rawPlans.map((p) => signTransfer(wallet, p));
  const sent = await broadcast(chain, signed.map((s) => s.raw));
  const rejected = sent.find((r) => r instanceof Error);
  if (rejected) throw new Error(`raw broadcast rejected: ${(rejected as Error).message}`);
  const got = await waitForReceipts(chain, signed.map((s) => s.hash), 60_000);
  if (got.some((r) => !r)) {
    const pool = await chain.call("txpool_status", []);
    const head = await chain.call("eth_blockNumber", []);
    const first = got.findIndex((r) => !r);
    throw new Error(
      `${got.filter((r) => !r).length} raw transfers not mined (first missing #${first}; pool ${
        JSON.stringify(pool)
      }, head ${head})`,
    );
  }
  const rawTps = n / ((performance.now() - t) / 1000);

  // The real pipeline, through the gateway and the edge function: calls until every investment
  // is claimed, each within its CPU budget, as pg_cron's sweeps would make them.
  await arrange(sql, stack, n);
  const calls: CallCost[] = [];
  let confirmed = 0;
  t = performance.now();
  try {
    for (let claimed = 0; claimed < n && calls.length < 20;) {
      const { out, cost } = await distributeCall(stack, {
        limit: Math.min(n - claimed, 1000),
        receipt_timeout_ms: 60_000,
      });
      calls.push(cost);
      if (out.claimed === 0) break;
      claimed += out.claimed;
      confirmed += out.confirmed;
      const odd = (out.transfers as { status: string }[]).filter((x) => x.status !== "confirmed");
      if (odd.length) {
        console.error(`not confirmed: ${odd.length}; first: ${JSON.stringify(odd[0])}`);
      }
    }
  } finally {
    await sql`update app.settings set value = 'on' where key = 'auto_distribute'`;
  }
  const seconds = (performance.now() - t) / 1000;
  return {
    n,
    calls,
    pipelineTps: confirmed / seconds,
    sequentialTps,
    sequentialTypicalTps,
    rawTps,
    confirmed,
  };
}
