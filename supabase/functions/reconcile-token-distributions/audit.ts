// The audit: on-chain balanceOf against token_holdings against the distributed sum, per
// (investor, tokenization), and per token the treasury's outflow against the books. Transfers in
// flight may be mined before they are confirmed, so a chain balance within [books, books +
// in flight] is consistent. A discrepancy is reported, never "repaired" by paying.
import { erc20 } from "../_shared/chain.ts";
import type { JsonRpc } from "../_shared/json-rpc.ts";
import type { RpcResult } from "../_shared/rpc-results.ts";

type Page = RpcResult<"token_audit_targets">;
export type Holder = Page["holders"][number];
/** What one audit compares: a page of holders and, once a run, the per-token totals. */
export type AuditTargets = Pick<Page, "holders" | "tokens">;
export type Discrepancy = {
  kind: string;
  user_id?: string;
  tokenization_id: string;
  [k: string]: unknown;
};

const call = (to: string, data: string) => ({
  method: "eth_call",
  params: [{ to, data }, "latest"],
});

/** A uint256 from an eth_call result; null when it could not be read (an error, no contract). */
function uint(r: unknown): bigint | null {
  if (typeof r !== "string" || !/^0x[0-9a-fA-F]+$/.test(r)) return null;
  return BigInt(r);
}

/**
 * Compares the chain with the books. A tokenization whose chain or contract cannot be read (another
 * chain, no contract at the address, failing calls) is reported as `audit_unavailable` and left
 * out; it never stops the audit of the others.
 */
export async function audit(
  chain: JsonRpc,
  targets: AuditTargets,
  treasury: string,
  chainId: bigint,
): Promise<Discrepancy[]> {
  const out: Discrepancy[] = [];
  const unavailable = new Map<string, string>();
  for (const t of targets.tokens) {
    if (t.chain_id !== undefined && BigInt(t.chain_id) !== chainId) {
      unavailable.set(
        t.tokenization_id,
        `on chain ${t.chain_id}; this reconciler reads chain ${chainId}`,
      );
    }
  }
  const readable = (id: string) => !unavailable.has(id);
  const holders = targets.holders.filter((h) => h.wallet_address && readable(h.tokenization_id));
  const tokens = targets.tokens.filter((t) => readable(t.tokenization_id));
  const calls = [
    ...holders.map((h) =>
      call(h.token_address, erc20.encodeFunctionData("balanceOf", [h.wallet_address]))
    ),
    ...tokens.flatMap((t) => [
      call(t.token_address, erc20.encodeFunctionData("totalSupply", [])),
      call(t.token_address, erc20.encodeFunctionData("balanceOf", [treasury])),
    ]),
  ];
  let results: unknown[];
  try {
    ({ results } = await chain.batches<string>(calls));
  } catch (e) {
    results = calls.map(() => e);
  }
  const values = results.map(uint);
  const fail = (id: string, i: number) => {
    if (!unavailable.has(id)) {
      const r = results[i];
      unavailable.set(id, r instanceof Error ? r.message : "no contract answered at the address");
    }
  };
  holders.forEach((h, i) => values[i] === null && fail(h.tokenization_id, i));
  tokens.forEach((t, j) => {
    const k = holders.length + 2 * j;
    if (values[k] === null) fail(t.tokenization_id, k);
    else if (values[k + 1] === null) fail(t.tokenization_id, k + 1);
  });
  holders.forEach((h, i) => {
    if (!readable(h.tokenization_id)) return;
    const onChain = values[i]!;
    const books = BigInt(h.holdings);
    const inFlight = BigInt(h.in_flight);
    if (books !== BigInt(h.distributed)) {
      out.push({
        kind: "holdings_vs_distributed",
        user_id: h.user_id,
        tokenization_id: h.tokenization_id,
        holdings: h.holdings,
        distributed: h.distributed,
      });
    }
    if (onChain < books || onChain > books + inFlight) {
      out.push({
        kind: "chain_vs_holdings",
        user_id: h.user_id,
        tokenization_id: h.tokenization_id,
        wallet_address: h.wallet_address,
        chain_balance: onChain.toString(),
        holdings: h.holdings,
        in_flight: h.in_flight,
      });
    }
  });
  tokens.forEach((t, j) => {
    if (!readable(t.tokenization_id)) return;
    const supply = values[holders.length + 2 * j]!;
    const treasuryBalance = values[holders.length + 2 * j + 1]!;
    const outflow = supply - treasuryBalance;
    const books = BigInt(t.holdings_total);
    if (outflow < books || outflow > books + BigInt(t.in_flight_total)) {
      out.push({
        kind: "treasury_vs_books",
        tokenization_id: t.tokenization_id,
        treasury_outflow: outflow.toString(),
        holdings_total: t.holdings_total,
        in_flight_total: t.in_flight_total,
      });
    }
  });
  for (const [tokenization_id, reason] of unavailable) {
    const t = targets.tokens.find((x) => x.tokenization_id === tokenization_id);
    out.push({
      kind: "audit_unavailable",
      tokenization_id,
      token_address: t?.token_address,
      chain_id: t?.chain_id,
      reason,
    });
  }
  return out;
}
