// Confirmed transfers that are no longer on the chain: a reorganisation after the transfer was
// called final (deeper than min_confirmations, or a chain without a policy). The books already
// count those tokens, so nothing is paid again automatically: each is reported as reorg_detected
// for a person to decide.
import { chainView, TAKEN_DEPTH } from "../_shared/chain.ts";
import type { JsonRpc } from "../_shared/json-rpc.ts";
import type { RpcResult } from "../_shared/rpc-results.ts";

export type ConfirmedTransfer = RpcResult<"recently_confirmed_transfers">[number];

export async function reorgedAway(
  chain: JsonRpc,
  confirmed: ConfirmedTransfer[],
  chainId: bigint,
  signer: string,
): Promise<Record<string, unknown>[]> {
  const mine = confirmed.filter((t) =>
    BigInt(t.chain_id) === chainId && t.signer === signer.toLowerCase()
  );
  if (!mine.length) return [];
  // Strict: an RPC failure aborts the run (it is retried later); it is never read as "gone".
  // (A node behind the transfer's block reports it too: an alert to look at, never a payment.)
  const view = await chainView(chain, signer, mine.map((t) => t.tx_hash));
  // A receipt missing from one of the newest blocks may not be indexed yet: a later run looks
  // again. (A head below the transfer's block is a reorganisation, or a node behind: reported.)
  const settled = (block: bigint) => block > view.head || block <= view.head - TAKEN_DEPTH;
  return mine.flatMap((t, i) =>
    (view.receipts[i] && view.receipts[i]!.status === "0x1") ||
      !settled(BigInt(t.block_number))
      ? []
      : [{
        kind: "reorg_detected",
        user_id: t.user_id,
        tokenization_id: t.tokenization_id,
        transfer_id: t.transfer_id,
        tx_hash: t.tx_hash,
        block_number: t.block_number,
        amount: t.amount,
        detail:
          "a confirmed transfer is no longer on the chain; it is not paid again automatically",
      }]
  );
}
