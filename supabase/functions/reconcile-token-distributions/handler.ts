// reconcile-token-distributions: finish or fail every stale transfer without paying twice, fill
// nonce gaps, then audit the chain against the books. Driven by pg_cron every 5 minutes.
import { Wallet } from "ethers";
import { z } from "zod";
import { json, problem } from "../_shared/http.ts";
import { JsonRpc } from "../_shared/json-rpc.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import { rpc } from "../_shared/supabase.ts";
import { openTreasuryRequest } from "../_shared/treasury-request.ts";
import { audit, type AuditTargets } from "./audit.ts";
import { type ConfirmedTransfer, reorgedAway } from "./reorgs.ts";
import { repair, type StuckTransfer } from "./repair.ts";
import { resendRequested } from "./resend.ts";

const log = createLogger("reconcile-token-distributions");

const body = z.object({
  stale_after_seconds: z.number().int().min(0).max(86_400).optional(),
  bump_after_seconds: z.number().int().min(0).max(86_400).optional(),
  receipt_timeout_ms: z.number().int().min(0).max(120_000).optional(),
}).strict();

export async function handle(req: Request): Promise<Response> {
  const opened = await openTreasuryRequest(req, body, log);
  if (opened instanceof Response) return opened;
  const { env, input } = opened;
  const wallet = new Wallet(env.TREASURY_PRIVATE_KEY);
  const chain = new JsonRpc(env.CHAIN_RPC_URL);
  try {
    const stuck = await rpc("transfers_to_reconcile", {
      p_stale_after: `${input.stale_after_seconds ?? 120} seconds`,
    }) as StuckTransfer[];
    const counts = await repair(chain, wallet, stuck, {
      bumpAfterMs: (input.bump_after_seconds ?? 600) * 1000,
      receiptTimeoutMs: input.receipt_timeout_ms ?? 10_000,
    });
    // admin_resend_transfer: a confirmed transfer reorganised away goes out again as the same
    // recorded bytes (same nonce, same hash: never a second payment).
    const resent = await resendRequested(chain);
    const discrepancies = [
      ...await reorgedAway(
        chain,
        await rpc("recently_confirmed_transfers", {}) as ConfirmedTransfer[],
        env.CHAIN_ID,
        wallet.address,
      ),
      ...await audit(
        chain,
        await rpc("token_audit_targets", {}) as AuditTargets,
        wallet.address,
        env.CHAIN_ID,
      ),
    ];
    const runId = await rpc("record_reconciliation_run", {
      p_summary: counts,
      p_discrepancies: discrepancies,
    }) as number;
    const level = discrepancies.length ? "warn" : "info";
    log[level]("reconciled", {
      run_id: runId,
      ...counts,
      resent,
      discrepancies: discrepancies.length,
    });
    return json(200, { ...counts, resent, run_id: runId, discrepancies });
  } catch (e) {
    log.error("reconciliation failed", { error: errorText(e) });
    return problem(502, "reconciliation failed; it is safe to run again", errorText(e));
  }
}

export default { fetch: handle };
