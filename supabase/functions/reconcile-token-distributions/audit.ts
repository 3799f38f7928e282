// The audit: on-chain balanceOf against token_holdings against the distributed sum, per
// (investor, tokenization), and per token the treasury's outflow against the books. Transfers in
// flight may be mined before they are confirmed, so a chain balance within [books, books +
// in flight] is consistent. A discrepancy is reported, never "repaired" by paying.
import { erc20 } from "../_shared/chain.ts";
import type { JsonRpc } from "../_shared/json-rpc.ts";

type Holder = {
  user_id: string;
  tokenization_id: string;
  wallet_address: string | null;
  token_address: string;
  holdings: string;
  distributed: string;
  in_flight: string;
};
type Token = {
  tokenization_id: string;
  token_address: string;
  holdings_total: string;
  in_flight_total: string;
};
export type AuditTargets = { holders: Holder[]; tokens: Token[] };
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

export async function audit(
  chain: JsonRpc,
  targets: AuditTargets,
  treasury: string,
): Promise<Discrepancy[]> {
  const out: Discrepancy[] = [];
  const holders = targets.holders.filter((h) => h.wallet_address);
  const calls = [
    ...holders.map((h) =>
      call(h.token_address, erc20.encodeFunctionData("balanceOf", [h.wallet_address]))
    ),
    ...targets.tokens.flatMap((t) => [
      call(t.token_address, erc20.encodeFunctionData("totalSupply", [])),
      call(t.token_address, erc20.encodeFunctionData("balanceOf", [treasury])),
    ]),
  ];
  const results = await chain.batch<string>(calls);
  const value = (i: number) => {
    const r = results[i];
    if (r instanceof Error) throw r;
    return BigInt(r);
  };
  holders.forEach((h, i) => {
    const onChain = value(i);
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
  targets.tokens.forEach((t, j) => {
    const supply = value(holders.length + 2 * j);
    const treasuryBalance = value(holders.length + 2 * j + 1);
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
  return out;
}
