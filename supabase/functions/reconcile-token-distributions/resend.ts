// The way out of reorg_detected (admin_resend_transfer): the recorded raw bytes of a confirmed
// transfer that a reorganisation took away are broadcast again. The bytes are the same signed
// transaction (same nonce, same hash), so at most one of them can ever be mined: nothing is paid
// twice. "Already known" or "nonce too low" (it is back on the chain) count as sent.
import { broadcast, isAlreadyKnown, isNonceTooLow } from "../_shared/chain.ts";
import type { JsonRpc } from "../_shared/json-rpc.ts";
import { JsonRpcError } from "../_shared/json-rpc.ts";
import { rpc } from "../_shared/supabase.ts";

export async function resendRequested(chain: JsonRpc): Promise<number> {
  const requested = await rpc("transfers_to_resend", {});
  if (!requested.length) return 0;
  const results = await broadcast(chain, requested.map((r) => r.raw_tx));
  const sent = requested.filter((_, i) => {
    const r = results[i];
    return !(r instanceof JsonRpcError) || isAlreadyKnown(r) || isNonceTooLow(r);
  });
  return await rpc("mark_transfers_resent", {
    p_transfer_ids: sent.map((r) => r.transfer_id),
  });
}
