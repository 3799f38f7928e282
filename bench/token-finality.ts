// Token distribution at a real chain's pace: anvil mines a block every 2 s and the chain's policy
// wants 3 confirmations. Measures the time from the distribute-tokens call until all N transfers
// are final (confirmed in the books), beside the chain's own floor in the same run: the blocks
// those transfers need at the block gas limit (from the gas they really used), plus the
// confirmations after the last of them, times the block time.
import type postgres from "postgres";
import type { StackInfo } from "../local/stack.ts";
import { JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";
import { arrange } from "./token-distribution.ts";

export type FinalityResult = {
  n: number;
  blockSeconds: number;
  minConfirmations: number;
  seconds: number;
  floorSeconds: number;
  gasPerTransfer: number;
  blocksUsed: number;
  confirmed: number;
};

const svc = async (stack: StackInfo, path: string, body: unknown) => {
  const res = await fetch(`${stack.api_url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${stack.service_role_key}`,
    },
    body: JSON.stringify(body),
  });
  const out = await res.json();
  if (!res.ok) throw new Error(`${path}: ${JSON.stringify(out)}`);
  return out;
};

export async function benchFinality(
  sql: postgres.Sql,
  stack: StackInfo,
  n: number,
  blockSeconds = 2,
  minConfirmations = 3,
): Promise<FinalityResult> {
  const chain = new JsonRpc(stack.chain_rpc_url, 60_000);
  await svc(stack, "/rest/v1/rpc/admin_set_chain_policy", {
    p_chain_id: stack.chain_id,
    p_min_confirmations: minConfirmations,
  });
  // Only this run's investors count: earlier benchmarks' transfers are not this run's.
  const investors = await arrange(sql, stack, n);
  // A real chain's block: 30M gas (the local stack's anvil allows far more, see anvil.ts).
  const localLimit =
    (await chain.call<{ gasLimit: string }>("eth_getBlockByNumber", ["latest", false]))
      .gasLimit;
  await chain.call("evm_setBlockGasLimit", ["0x" + (30_000_000).toString(16)]);
  await chain.call("evm_setIntervalMining", [blockSeconds]);
  try {
    const t0 = performance.now();
    // distribute-tokens calls until every investment is claimed (each call within its CPU
    // budget); whatever they did not see final, the reconciler finishes (as pg_cron would).
    let confirmed = 0;
    for (;;) {
      const [c] = await sql`select count(*) filter (where status = 'confirmed')::int as confirmed,
                                   count(*)::int as claimed
                              from app.token_transfers where user_id = any(${investors}::uuid[])`;
      confirmed = c.confirmed;
      if (confirmed >= n || performance.now() - t0 > 180_000) break;
      if (c.claimed < n) {
        await svc(stack, "/functions/v1/distribute-tokens", {
          limit: Math.min(n - c.claimed, 1000),
          receipt_timeout_ms: 120_000,
        });
      } else {
        await svc(stack, "/functions/v1/reconcile-token-distributions", {
          receipt_timeout_ms: 500,
        });
      }
    }
    const seconds = (performance.now() - t0) / 1000;

    // The floor, from what the chain says the transfers cost.
    const hashes = (await sql<{ tx_hash: string }[]>`
      select tx_hash from app.token_transfers where status = 'confirmed'
         and user_id = any(${investors}::uuid[])`).map((r) => r.tx_hash);
    const receipts = await chain.batch<{ gasUsed: string; blockNumber: string }>(
      hashes.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })),
    );
    const ok = receipts.filter((r): r is { gasUsed: string; blockNumber: string } =>
      !(r instanceof Error) && r !== null
    );
    const gas = ok.reduce((s, r) => s + BigInt(r.gasUsed), 0n);
    const block = await chain.call<{ gasLimit: string }>("eth_getBlockByNumber", ["latest", false]);
    const blocksNeeded = Number((gas + BigInt(block.gasLimit) - 1n) / BigInt(block.gasLimit));
    const blocksUsed = new Set(ok.map((r) => r.blockNumber)).size;
    return {
      n,
      blockSeconds,
      minConfirmations,
      seconds,
      floorSeconds: (blocksNeeded + minConfirmations - 1) * blockSeconds,
      gasPerTransfer: Number(gas / BigInt(Math.max(ok.length, 1))),
      blocksUsed,
      confirmed,
    };
  } finally {
    await chain.call("evm_setBlockGasLimit", [localLimit]);
    await chain.call("evm_setIntervalMining", [0]);
    await chain.call("evm_setAutomine", [true]);
    await svc(stack, "/rest/v1/rpc/admin_set_chain_policy", {
      p_chain_id: stack.chain_id,
      p_min_confirmations: 1,
    });
    await sql`update app.settings set value = 'on' where key = 'auto_distribute'`;
  }
}
