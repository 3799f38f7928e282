// The reconciler at N holders: reconcile-token-distributions called as pg_cron would until its
// audit completes a pass over every holder, each call within the edge runtime's limits (2 s of CPU,
// 150 s), beside the baseline in the same run: the same balanceOf calls sent from here in the
// functions' batches, without the database or the runtime (the chain's own cost of one pass).
import { hexlify, randomBytes } from "ethers";
import type postgres from "postgres";
import { erc20 } from "../supabase/functions/_shared/chain.ts";
import { JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";
import type { StackInfo } from "../local/stack.ts";
import { type AdminRead, adminReads, type ReadCall } from "./admin-reads.ts";
import { verifiedInvestors } from "./token-distribution.ts";

/** The token reads the console makes: their cost grows with holders. */
const READS = (stack: StackInfo): ReadCall[] => {
  const tok = stack.tokenization_id;
  return [
    ["token_distribution_report (whole)", "token_distribution_report", { p_tokenization_id: tok }],
    ["token_distribution_report (p_limit 1000)", "token_distribution_report", {
      p_tokenization_id: tok,
      p_limit: 1000,
    }],
    ["admin_distribution_report_page", "admin_distribution_report_page", {
      p_tokenization_id: tok,
    }],
    ["admin_tokenizations", "admin_tokenizations", {}],
    ["admin_token_alerts", "admin_token_alerts", {}],
    ["admin_overview", "admin_overview", {}],
  ];
};

export type ReconcileCall = { cpuMs: number; ms: number; audited: number };
export type ReconcileResult = {
  holders: number;
  calls: ReconcileCall[];
  passMs: number;
  baselineMs: number;
  reads: AdminRead[];
};

/** N holders of the stack's token with a wallet each, their books at 0 as on chain. */
async function arrange(sql: postgres.Sql, stack: StackInfo, n: number) {
  // Random addresses: a random wallet's key derivation would take minutes at this size.
  const wallets = Array.from({ length: n }, () => hexlify(randomBytes(20)));
  await sql.begin(async (tx) => {
    const ids = await verifiedInvestors(tx, "rec-bench-", wallets);
    await tx`insert into app.token_holdings (user_id, tokenization_id, balance)
             select u, ${stack.tokenization_id}, 0 from unnest(${ids}::uuid[]) u`;
  });
  await sql`vacuum analyze app.token_holdings, app.profiles`;
  return wallets;
}

async function reconcileCall(stack: StackInfo) {
  const t = performance.now();
  const res = await fetch(`${stack.api_url}/functions/v1/reconcile-token-distributions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${stack.service_role_key}`,
    },
    body: "{}",
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`reconciler answered ${res.status}: ${JSON.stringify(body)}`);
  return {
    call: {
      cpuMs: Number(res.headers.get("x-edge-cpu-ms")),
      ms: performance.now() - t,
      audited: body.audit.holders_audited as number,
    },
    complete: body.audit.pass_complete as boolean,
  };
}

export async function benchReconcile(
  sql: postgres.Sql,
  stack: StackInfo,
  n: number,
): Promise<ReconcileResult> {
  const wallets = await arrange(sql, stack, n);
  const [{ holders }] = await sql`select count(*)::int as holders from app.token_holdings`;
  // Start a pass at the first holder.
  await sql`update app.token_audit_cursor set after_user_id = null, after_tokenization_id = null,
              pass_started_at = null, pass_audited = 0`;
  const calls: ReconcileCall[] = [];
  const t0 = performance.now();
  for (let complete = false; !complete && calls.length < 1000;) {
    const r = await reconcileCall(stack);
    calls.push(r.call);
    complete = r.complete;
  }
  const passMs = performance.now() - t0;

  const chain = new JsonRpc(stack.chain_rpc_url, 60_000);
  const t1 = performance.now();
  await chain.batches<string>(wallets.map((w) => ({
    method: "eth_call",
    params: [
      { to: stack.token_address, data: erc20.encodeFunctionData("balanceOf", [w]) },
      "latest",
    ],
  })));
  const baselineMs = performance.now() - t1;
  return { holders, calls, passMs, baselineMs, reads: await adminReads(stack, READS(stack)) };
}
