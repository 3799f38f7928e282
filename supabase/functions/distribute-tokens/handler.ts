// distribute-tokens: claim -> sign -> record -> broadcast (all) -> receipts -> confirm. Stateless:
// the database hands out work and nonces, so any number can run at once (F7, F9), and a crash at
// any point leaves rows the reconciler finishes without paying twice (F8).
import { Wallet } from "ethers";
import { z } from "zod";
import { feeQuote, latestNonce, pendingNonce, treasuryBalances } from "../_shared/chain.ts";
import { fillGaps } from "../_shared/gaps.ts";
import { FAULT_POINTS, faultInjector, InjectedCrash } from "../_shared/faults.ts";
import { json, problem } from "../_shared/http.ts";
import { JsonRpc } from "../_shared/json-rpc.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import { rpc } from "../_shared/supabase.ts";
import { openTreasuryRequest } from "../_shared/treasury-request.ts";
import {
  broadcastAll,
  type PlannedTransfer,
  settle,
  signAndRecord,
  withGasEstimates,
} from "../_shared/transfers.ts";

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
    const treasury = wallet.address.toLowerCase();
    const [chainNonce, fees, tokens] = await Promise.all([
      pendingNonce(chain, wallet.address),
      feeQuote(chain),
      rpc("treasury_token_addresses", { p_chain_id: Number(env.CHAIN_ID) }) as Promise<string[]>,
    ]);
    // The treasury guard: what it holds now bounds what may be claimed (13_treasury_guard.sql).
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
    const claimed = await rpc("claim_token_distributions", {
      p_worker: worker,
      p_signer: treasury,
      p_chain_id: Number(env.CHAIN_ID),
      p_chain_nonce: Number(chainNonce),
      p_limit: limit,
      p_user_id: input.user_id ?? null,
      p_tokenization_id: input.tokenization_id ?? null,
      p_base_fee_per_gas: fees.baseFee.toString(),
      p_priority_fee_per_gas: fees.tip.toString(),
      p_treasury_native_balance: balances.native.toString(),
      p_treasury_token_balances: balances.tokens,
    }) as PlannedTransfer[];
    // Less than the limit: say whether work waits (fees above the cap, a treasury short).
    const backlog = claimed.length < limit
      ? await rpc("distribution_backlog", {
        p_chain_id: Number(env.CHAIN_ID),
        p_user_id: input.user_id ?? null,
        p_tokenization_id: input.tokenization_id ?? null,
        p_signer: treasury,
      }) as { deferred: number; deferred_reason: string | null }
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
        transfers: [],
      });
    }
    crashAt("after_claim");
    const { planned, refused } = await withGasEstimates(chain, treasury, claimed);
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
    // A refused transfer's nonce was released below nonces just sent: fill it now, not minutes later.
    if (refused.length) await fillGaps(chain, wallet, await latestNonce(chain, wallet.address));
    crashAt("after_broadcast");
    const outcomes = await settle(
      chain,
      sent,
      input.receipt_timeout_ms ?? 20_000,
      () => crashAt("before_confirm"),
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
    });
    return json(200, {
      claimed: claimed.length,
      confirmed: count("confirmed"),
      failed: count("failed"),
      pending: count("pending"),
      ...backlog,
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
