// distribute-tokens: claim -> sign -> record -> broadcast (all) -> receipts -> confirm. Stateless:
// the database hands out work and nonces, so any number can run at once (F7, F9), and a crash at
// any point leaves rows the reconciler finishes without paying twice (F8).
import { Wallet } from "ethers";
import { z } from "zod";
import { feeQuote, pendingNonce } from "../_shared/chain.ts";
import { FAULT_POINTS, faultInjector, InjectedCrash } from "../_shared/faults.ts";
import { json, problem } from "../_shared/http.ts";
import { JsonRpc } from "../_shared/json-rpc.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import { rpc } from "../_shared/supabase.ts";
import { openTreasuryRequest } from "../_shared/treasury-request.ts";
import { broadcastAll, type PlannedTransfer, settle, signAndRecord } from "../_shared/transfers.ts";

const log = createLogger("distribute-tokens");

const body = z.object({
  user_id: z.string().uuid().optional(),
  tokenization_id: z.string().uuid().optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  receipt_timeout_ms: z.number().int().min(0).max(120_000).optional(),
  _fault: z.enum(FAULT_POINTS).optional(),
}).strict();

export async function handle(req: Request): Promise<Response> {
  const opened = await openTreasuryRequest(req, body, log);
  if (opened instanceof Response) return opened;
  const { env, input } = opened;
  const crashAt = faultInjector(input._fault);
  const wallet = new Wallet(env.TREASURY_PRIVATE_KEY);
  const chain = new JsonRpc(env.CHAIN_RPC_URL);
  const worker = `distribute-tokens:${crypto.randomUUID()}`;
  try {
    const [chainNonce, fees] = await Promise.all([
      pendingNonce(chain, wallet.address),
      feeQuote(chain),
    ]);
    const planned = await rpc("claim_token_distributions", {
      p_worker: worker,
      p_signer: wallet.address.toLowerCase(),
      p_chain_id: Number(env.CHAIN_ID),
      p_chain_nonce: Number(chainNonce),
      p_limit: input.limit ?? 200,
      p_user_id: input.user_id ?? null,
      p_tokenization_id: input.tokenization_id ?? null,
      p_base_fee_per_gas: fees.baseFee.toString(),
      p_priority_fee_per_gas: fees.tip.toString(),
    }) as PlannedTransfer[];
    if (planned.length === 0) {
      // Nothing claimed: say whether work waits because the chain asks more than the fee cap.
      const backlog = await rpc("distribution_backlog", {
        p_chain_id: Number(env.CHAIN_ID),
        p_user_id: input.user_id ?? null,
        p_tokenization_id: input.tokenization_id ?? null,
      }) as { deferred: number; deferred_reason: string | null };
      if (backlog.deferred > 0) {
        log.warn("deferred", { worker, ...backlog, base_fee: fees.baseFee.toString() });
      }
      return json(200, {
        claimed: 0,
        confirmed: 0,
        failed: 0,
        pending: 0,
        deferred: backlog.deferred,
        deferred_reason: backlog.deferred_reason,
        transfers: [],
      });
    }
    crashAt("after_claim");
    const signed = await signAndRecord(wallet, planned, () => crashAt("after_sign"));
    crashAt("after_record");
    const sent = await broadcastAll(
      chain,
      signed.map((s) => ({
        transfer_id: s.plan.transfer_id,
        nonce: Number(s.plan.nonce),
        hash: s.hash,
        raw: s.raw,
      })),
    );
    await rpc("mark_transfers_broadcast", {
      p_transfer_ids: sent.filter((s) => !s.error).map((s) => s.transfer_id),
    });
    crashAt("after_broadcast");
    const outcomes = await settle(
      chain,
      sent,
      input.receipt_timeout_ms ?? 20_000,
      () => crashAt("before_confirm"),
    );
    const count = (s: string) => outcomes.filter((o) => o.status === s).length;
    log.info("distributed", {
      worker,
      claimed: planned.length,
      confirmed: count("confirmed"),
      failed: count("failed"),
      pending: count("pending"),
    });
    return json(200, {
      claimed: planned.length,
      confirmed: count("confirmed"),
      failed: count("failed"),
      pending: count("pending"),
      deferred: 0,
      deferred_reason: null,
      transfers: outcomes,
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
