// reconcile-token-distributions: finish or fail stale transfers without paying twice, fill nonce
// gaps, then audit the chain against the books. Driven by pg_cron every 5 minutes. Every call is
// bounded (CONTRACT "Platform limits"): a page of stuck transfers (lowest nonces first), the
// newest confirmations, and audit pages of holders from the stored cursor while its CPU and time
// budgets last; the run is recorded, with how far the audit got, before the budgets end, and the
// next call continues the audit where this one stopped.
import { Wallet } from "ethers";
import { z } from "zod";
import { cpuBudget, EDGE_CPU_LIMIT_MS } from "../_shared/cpu-budget.ts";
import { json, problem } from "../_shared/http.ts";
import { JsonRpc } from "../_shared/json-rpc.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import { rpc } from "../_shared/supabase.ts";
import { openTreasuryRequest } from "../_shared/treasury-request.ts";
import { AUDIT_PAGE, auditPages } from "./audit-pages.ts";
import { reorgedAway } from "./reorgs.ts";
import { repair } from "./repair.ts";
import { resendRequested } from "./resend.ts";

const log = createLogger("reconcile-token-distributions");

/** No audit page starts after this much of the call's time (the runtime cuts at 150 s). */
const AUDIT_UNTIL_MS = 90_000;

const body = z.object({
  stale_after_seconds: z.number().int().min(0).max(86_400).optional(),
  bump_after_seconds: z.number().int().min(0).max(86_400).optional(),
  receipt_timeout_ms: z.number().int().min(0).max(120_000).optional(),
  // Holders compared per audit page, and at most how many pages this call (else: while the
  // budget lasts).
  audit_page_limit: z.number().int().min(1).max(5000).optional(),
  audit_max_pages: z.number().int().min(1).max(1000).optional(),
}).strict();

export async function handle(req: Request): Promise<Response> {
  const cpu = cpuBudget();
  const t0 = Date.now();
  const opened = await openTreasuryRequest(req, body, log);
  if (opened instanceof Response) return opened;
  const { env, input } = opened;
  const wallet = new Wallet(env.TREASURY_PRIVATE_KEY);
  const chain = new JsonRpc(env.CHAIN_RPC_URL);
  try {
    const stuck = await rpc("transfers_to_reconcile", {
      p_stale_after: `${input.stale_after_seconds ?? 120} seconds`,
    });
    const counts = await repair(chain, wallet, stuck, {
      bumpAfterMs: (input.bump_after_seconds ?? 600) * 1000,
      receiptTimeoutMs: input.receipt_timeout_ms ?? 10_000,
    });
    // admin_resend_transfer: a confirmed transfer reorganised away goes out again as the same
    // recorded bytes (same nonce, same hash: never a second payment).
    const resent = await resendRequested(chain);
    const reorged = await reorgedAway(
      chain,
      await rpc("recently_confirmed_transfers", {}),
      env.CHAIN_ID,
      wallet.address,
    );
    const audited = await auditPages(chain, wallet.address, env.CHAIN_ID, {
      pageLimit: input.audit_page_limit ?? AUDIT_PAGE,
      maxPages: input.audit_max_pages ?? Infinity,
      // Half the runtime's CPU and well inside its 150 s: recording the run must still fit.
      more: (pageCpu) =>
        cpu.allows(2 * pageCpu, EDGE_CPU_LIMIT_MS / 2) && Date.now() - t0 < AUDIT_UNTIL_MS,
      cpuUsed: () => cpu.used(),
    });
    const discrepancies = [...reorged, ...audited.discrepancies];
    const runId = await rpc("record_reconciliation_run", {
      p_summary: { ...counts, audit: audited.summary },
      p_discrepancies: discrepancies,
      p_audit: audited.range,
    }) as number;
    const level = discrepancies.length ? "warn" : "info";
    log[level]("reconciled", {
      run_id: runId,
      ...counts,
      resent,
      discrepancies: discrepancies.length,
      audit: audited.summary,
      cpu_ms: Math.round(cpu.used()),
    });
    return json(200, { ...counts, resent, run_id: runId, audit: audited.summary, discrepancies });
  } catch (e) {
    log.error("reconciliation failed", { error: errorText(e) });
    return problem(502, "reconciliation failed; it is safe to run again", errorText(e));
  }
}

export default { fetch: handle };
