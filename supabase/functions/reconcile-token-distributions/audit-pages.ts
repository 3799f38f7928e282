// The audit a page of holders at a time: from the stored cursor (token_audit_targets), while the
// caller's budget allows another page, ending the pass at the last holder. Returns what it found
// and the range it covered, which record_reconciliation_run stores with the run: each holder of
// the range audited by this run, the cursor moved past it.
import type { JsonRpc } from "../_shared/json-rpc.ts";
import { rpc } from "../_shared/supabase.ts";
import type { RpcResult } from "../_shared/rpc-results.ts";
import { audit, type Discrepancy } from "./audit.ts";

/** Holders compared per page: about ten batches of balanceOf calls. */
export const AUDIT_PAGE = 1000;

type Key = NonNullable<RpcResult<"token_audit_targets">["next_after"]>;

export type AuditSummary = {
  holders_audited: number;
  pages: number;
  pass_complete: boolean;
  /** Of the pass under way, before this run: holders audited and the holders there are. */
  pass_audited_before: number;
  holders: number;
};

export async function auditPages(
  chain: JsonRpc,
  treasury: string,
  chainId: bigint,
  budget: {
    pageLimit: number;
    maxPages: number;
    more: (lastPageCpuMs: number) => boolean;
    cpuUsed: () => number;
  },
): Promise<{
  discrepancies: Discrepancy[];
  range: { from: Key | null; through: Key | null; pass_complete: boolean };
  summary: AuditSummary;
}> {
  const discrepancies: Discrepancy[] = [];
  let page = await rpc("token_audit_targets", { p_limit: budget.pageLimit });
  const from = page.from;
  const before = page.pass;
  let through: Key | null = null;
  let audited = 0;
  let pages = 0;
  for (;;) {
    const started = budget.cpuUsed();
    // The per-token totals once a run; every page carries them.
    discrepancies.push(
      ...await audit(
        chain,
        { holders: page.holders, tokens: pages === 0 ? page.tokens : [] },
        treasury,
        chainId,
      ),
    );
    pages++;
    audited += page.holders.length;
    const last = page.holders.at(-1);
    if (last) through = { user_id: last.user_id, tokenization_id: last.tokenization_id };
    if (
      !page.next_after || pages >= budget.maxPages || !budget.more(budget.cpuUsed() - started)
    ) break;
    page = await rpc("token_audit_targets", {
      p_limit: budget.pageLimit,
      p_after: page.next_after,
    });
  }
  const complete = !page.next_after;
  return {
    discrepancies,
    range: { from, through, pass_complete: complete },
    summary: {
      holders_audited: audited,
      pages,
      pass_complete: complete,
      pass_audited_before: before.audited,
      holders: before.holders,
    },
  };
}
