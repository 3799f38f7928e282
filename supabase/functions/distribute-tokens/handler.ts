// distribute-tokens: claim -> sign -> record -> broadcast, a chunk at a time while its CPU budget
// lasts, then receipts -> confirm. Stateless: the database hands out work and nonces, so any number
// can run at once (F7, F9), and a crash at any point leaves rows the reconciler finishes without
// paying twice (F8). Within the edge runtime's limits (CONTRACT "Platform limits"): it claims no
// chunk it could not sign before half its 2 s of CPU is spent, stops waiting for receipts at three
// quarters, and answers within 120 s; `more: true` says work was left for the next call.
import { Wallet } from "ethers";
import { z } from "zod";
import { feeQuote, latestNonce, pendingNonce, treasuryBalances } from "../_shared/chain.ts";
import { cpuBudget, EDGE_CPU_LIMIT_MS } from "../_shared/cpu-budget.ts";
import { fillGaps } from "../_shared/gaps.ts";
import { FAULT_POINTS, faultInjector, faultsAllowed, InjectedCrash } from "../_shared/faults.ts";
import { json, problem } from "../_shared/http.ts";
import { JsonRpc } from "../_shared/json-rpc.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import { rpc } from "../_shared/supabase.ts";
import { openTreasuryRequest } from "../_shared/treasury-request.ts";
import {
  broadcastAll,
  type Broadcasted,
  type Outcome,
  type PlannedTransfer,
  settle,
  signAndRecord,
  withGasEstimates,
} from "../_shared/transfers.ts";

const log = createLogger("distribute-tokens");

/** Transfers claimed and signed at a time. */
const CHUNK = 100;
/** No new chunk is claimed past this much CPU (of the runtime's 2 s): broadcasting, receipts and
 * the answer grow with what was signed and need the rest. */
const CLAIM_CPU_BUDGET_MS = EDGE_CPU_LIMIT_MS / 2;
/** Waiting for receipts ends here; what is not final then is the reconciler's. */
const SETTLE_CPU_BUDGET_MS = EDGE_CPU_LIMIT_MS * 0.75;
/** The run answers within this (the runtime cuts at 150 s without a response). */
const WALL_BUDGET_MS = 120_000;

const body = z.object({
  user_id: z.string().uuid().optional(),
  tokenization_id: z.string().uuid().optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  receipt_timeout_ms: z.number().int().min(0).max(120_000).optional(),
  _fault: z.enum(FAULT_POINTS).optional(),
  // Test stacks only: a smaller claim budget, so a test sees a run stop at it with a few transfers.
  _cpu_budget_ms: z.number().int().min(1).max(CLAIM_CPU_BUDGET_MS).optional(),
}).strict();

export async function handle(req: Request): Promise<Response> {
  const cpu = cpuBudget();
  const t0 = Date.now();
  const opened = await openTreasuryRequest(req, body, log);
  if (opened instanceof Response) return opened;
  const { env, input } = opened;
  const crashAt = faultInjector(input._fault);
  const wallet = new Wallet(env.TREASURY_PRIVATE_KEY);
  const chain = new JsonRpc(env.CHAIN_RPC_URL);
  const worker = `distribute-tokens:${crypto.randomUUID()}`;
  try {
    const treasury = wallet.address.toLowerCase();
    const [chainNonce, fees, tokens] = await Promise.all([
      pendingNonce(chain, wallet.address),
      feeQuote(chain),
      rpc("treasury_token_addresses", { p_chain_id: Number(env.CHAIN_ID) }),
    ]);
    // The treasury guard: what it holds now bounds what may be claimed (18_treasury_guard.sql).
    // A token contract that cannot be read is recorded, and the claim skips its investments alone.
    const balances = await treasuryBalances(chain, wallet.address, tokens);
    await rpc("record_token_readability", {
      p_chain_id: Number(env.CHAIN_ID),
      p_unreadable: balances.unreadable,
    });
    if (Object.keys(balances.unreadable).length) {
      log.warn("token contracts unreadable", { worker, tokens: Object.keys(balances.unreadable) });
    }
    const limit = input.limit ?? 200;
    const claimBudget = (faultsAllowed() && input._cpu_budget_ms) || CLAIM_CPU_BUDGET_MS;
    // Claimed, signed, recorded and broadcast a chunk at a time while the CPU budget lasts: a
    // claimed transfer holds a nonce, so nothing is claimed that this run cannot also sign.
    const claimed: PlannedTransfer[] = [];
    const refused: Outcome[] = [];
    const sent: Broadcasted[] = [];
    let chunkCpu = 0;
    let more = false;
    let treasuryView = balances;
    while (claimed.length < limit) {
      if (claimed.length > 0) {
        // The next chunk costs about what the last did; keep twice that in hand.
        if (!cpu.allows(2 * chunkCpu, claimBudget)) {
          more = true;
          break;
        }
        treasuryView = await treasuryBalances(chain, wallet.address, tokens);
      }
      const before = cpu.used();
      const size = Math.min(CHUNK, limit - claimed.length);
      const chunk = await rpc("claim_token_distributions", {
        p_worker: worker,
        p_signer: treasury,
        p_chain_id: Number(env.CHAIN_ID),
        p_chain_nonce: Number(chainNonce),
        p_limit: size,
        p_user_id: input.user_id ?? null,
        p_tokenization_id: input.tokenization_id ?? null,
        p_base_fee_per_gas: fees.baseFee.toString(),
        p_priority_fee_per_gas: fees.tip.toString(),
        p_treasury_native_balance: treasuryView.native.toString(),
        p_treasury_token_balances: treasuryView.tokens,
      });
      if (chunk.length === 0) break;
      claimed.push(...chunk);
      crashAt("after_claim");
      const estimated = await withGasEstimates(chain, treasury, chunk);
      refused.push(...estimated.refused);
      const signed = await signAndRecord(wallet, estimated.planned, () => crashAt("after_sign"));
      crashAt("after_record");
      const out = await broadcastAll(
        chain,
        signed.map((s) => ({
          transfer_id: s.plan.transfer_id,
          nonce: Number(s.plan.nonce),
          hash: s.hash,
          raw: s.raw,
        })),
      );
      sent.push(...out);
      await rpc("mark_transfers_broadcast", {
        p_transfer_ids: out.filter((s) => !s.error).map((s) => s.transfer_id),
      });
      // A refused transfer's nonce was released below nonces just sent: fill it now, not minutes
      // later.
      if (estimated.refused.length) {
        await fillGaps(chain, wallet, await latestNonce(chain, wallet.address));
      }
      chunkCpu = cpu.used() - before;
      if (chunk.length < size) break;
    }
    // Less than the limit and not for the budget: say whether work waits (fees above the cap, a
    // treasury short).
    const backlog = claimed.length < limit && !more
      ? await rpc("distribution_backlog", {
        p_chain_id: Number(env.CHAIN_ID),
        p_user_id: input.user_id ?? null,
        p_tokenization_id: input.tokenization_id ?? null,
        p_signer: treasury,
      })
      : { deferred: 0, deferred_reason: null };
    if (backlog.deferred > 0) {
      log.warn("deferred", { worker, ...backlog, base_fee: fees.baseFee.toString() });
    }
    if (claimed.length === 0) {
      return json(200, {
        claimed: 0,
        confirmed: 0,
        failed: 0,
        pending: 0,
        ...backlog,
        more,
        transfers: [],
      });
    }
    // Work left for the budget: the next run starts now (debounced), not at the next sweep.
    if (more) await rpc("queue_distribution_run", {});
    crashAt("after_broadcast");
    const outcomes = await settle(
      chain,
      sent,
      Math.min(input.receipt_timeout_ms ?? 20_000, Math.max(0, WALL_BUDGET_MS - (Date.now() - t0))),
      () => crashAt("before_confirm"),
      () => !cpu.allows(0, SETTLE_CPU_BUDGET_MS),
    );
    const all = [...refused, ...outcomes].sort((a, b) => a.nonce - b.nonce);
    const count = (s: string) => all.filter((o) => o.status === s).length;
    log.info("distributed", {
      worker,
      claimed: claimed.length,
      confirmed: count("confirmed"),
      failed: count("failed"),
      pending: count("pending"),
      deferred: backlog.deferred,
      more,
      cpu_ms: Math.round(cpu.used()),
    });
    return json(200, {
      claimed: claimed.length,
      confirmed: count("confirmed"),
      failed: count("failed"),
      pending: count("pending"),
      ...backlog,
      more,
      transfers: all,
    });
  } catch (e) {
    if (e instanceof InjectedCrash) {
      log.warn("injected crash", { worker, point: e.point });
      return problem(500, e.message);
    }
    log.error("distribution run failed", { worker, error: errorText(e) });
    return problem(
      502,
      "distribution run failed; the reconciler will finish what was started",
      errorText(e),
    );
  }
}

export default { fetch: handle };
