// Repairs transfers stuck in planned, signed or broadcast, never paying twice:
// - the chain's nonce is read BEFORE the receipts, so "nonce used and none of our hashes mined"
//   really means another transaction took the nonce (our own mined tx would show a receipt);
// - only bytes that were recorded are ever broadcast (the outbox), and a failed transfer's bytes
//   are never sent again.
import type { Wallet } from "ethers";
import { chainView, signTransfer, type TransferPlan } from "../_shared/chain.ts";
import type { JsonRpc } from "../_shared/json-rpc.ts";
import { rpc } from "../_shared/supabase.ts";
import { fillGaps } from "../_shared/gaps.ts";
import type { RpcResult } from "../_shared/rpc-results.ts";
import { broadcastAll, type Broadcasted, recordReceipts, settle } from "../_shared/transfers.ts";

/** A transfer to repair, with the chain's caps (transfers_to_reconcile). */
export type StuckTransfer = RpcResult<"transfers_to_reconcile">[number];

/**
 * A replacement's fees: both raised by 25 %, never above the chain's caps. Nodes accept a
 * replacement only if both fields rise by at least 10 % (geth); null when the caps leave less.
 */
export function bumpedFees(t: StuckTransfer): { fee: bigint; tip: bigint } | null {
  const fee0 = BigInt(t.max_fee_per_gas);
  const tip0 = BigInt(t.max_priority_fee_per_gas);
  const feeCap = BigInt(t.fee_cap);
  const tipCap = BigInt(t.tip_cap);
  let fee = fee0 * 125n / 100n;
  if (fee > feeCap) fee = feeCap;
  let tip = tip0 * 125n / 100n;
  if (tip > tipCap) tip = tipCap;
  if (tip > fee) tip = fee;
  const enough = (now: bigint, before: bigint) => now * 100n >= before * 110n && now > before;
  return enough(fee, fee0) && (tip0 === 0n ? true : enough(tip, tip0)) ? { fee, tip } : null;
}

export type RepairCounts = {
  checked: number;
  confirmed: number;
  rebroadcast: number;
  failed: number;
  released: number;
  bumped: number;
  gaps_filled: number;
  /** Mined transfers whose block was reorganised away, sent again with the same bytes. */
  reorged: number;
};

async function fail(t: StuckTransfer, error: string, nonceConsumed: boolean): Promise<number> {
  const r = await rpc("fail_token_transfer", {
    p_transfer_id: t.transfer_id,
    p_error: error,
    p_nonce_consumed: nonceConsumed,
  });
  return r.released;
}

export async function repair(
  chain: JsonRpc,
  wallet: Wallet,
  stuck: StuckTransfer[],
  opts: { bumpAfterMs: number; receiptTimeoutMs: number },
): Promise<RepairCounts> {
  const counts: RepairCounts = {
    checked: stuck.length,
    confirmed: 0,
    rebroadcast: 0,
    failed: 0,
    released: 0,
    bumped: 0,
    gaps_filled: 0,
    reorged: 0,
  };
  const signer = wallet.address.toLowerCase();
  const mine = stuck.filter((t) => t.signer === signer);
  if (mine.length === 0) return counts;

  // 1. The nonce at a block seen first, then the receipts of every attempt from nodes at least
  //    that far (chainView; a lagging node's missing receipt beside a fresh node's nonce would
  //    look like "another transaction").
  //    Strict: a lookup error aborts the run (it is retried later) instead of looking like "not
  //    mined", which would fail a transfer that may be mined and pay its investments twice.
  const hashes = mine.flatMap((t) => t.attempt_hashes);
  const view = await chainView(chain, wallet.address, hashes);
  const used = view.used;
  const found = new Map<string, { status: string; blockNumber: string }>();
  view.receipts.forEach((r, i) => r && found.set(hashes[i], r));

  const confirmations: { transfer_id: string; tx_hash: string; block_number: string }[] = [];
  const resend: { transfer_id: string; nonce: number; hash: string; raw: string }[] = [];
  const toSign: StuckTransfer[] = [];
  for (const t of mine) {
    const mined = t.attempt_hashes.map((h) => [h, found.get(h)] as const).find(([, r]) => r);
    if (mined) {
      const [hash, r] = mined;
      if (r!.status === "0x1") {
        confirmations.push({
          transfer_id: t.transfer_id,
          tx_hash: hash,
          block_number: BigInt(r!.blockNumber).toString(),
        });
      } else {
        counts.released += await fail(t, "reverted on chain", true);
        counts.failed++;
      }
      continue;
    }
    if (t.status === "mined") {
      // It had a receipt and has none now: its block was reorganised away. Back to broadcast with
      // the same bytes (never a new nonce: this one may still be mined).
      await rpc("record_reorged_transfer", { p_transfer_id: t.transfer_id });
      counts.reorged++;
      resend.push({
        transfer_id: t.transfer_id,
        nonce: Number(t.nonce),
        hash: t.tx_hash!,
        raw: t.raw_tx!,
      });
      continue;
    }
    if (BigInt(t.nonce) < view.usedBefore) {
      // Nothing of ours was mined, yet the nonce was used blocks ago: another transaction took it.
      counts.released += await fail(t, `nonce ${t.nonce} used by another transaction`, true);
      counts.failed++;
      continue;
    }
    if (BigInt(t.nonce) < used) {
      // Used only in the newest blocks: ours may be there, its receipt not indexed yet. A later
      // run decides (resending would only be refused as "nonce too low").
      continue;
    }
    if (t.status === "planned") toSign.push(t);
    else {resend.push({
        transfer_id: t.transfer_id,
        nonce: Number(t.nonce),
        hash: t.tx_hash!,
        raw: t.raw_tx!,
      });}
  }
  counts.confirmed += (await recordReceipts(chain, confirmations)).size;

  // 2. Planned: sign from the row (the same bytes any earlier signer made) and record first.
  if (toSign.length) {
    const signed = toSign.map((t) => ({ t, ...signTransfer(wallet, t) }));
    await rpc("record_signed_transfers", {
      p_transfers: signed.map((s) => ({
        transfer_id: s.t.transfer_id,
        tx_hash: s.hash,
        raw_tx: s.raw,
      })),
    });
    resend.push(
      ...signed.map((s) => ({
        transfer_id: s.t.transfer_id,
        nonce: Number(s.t.nonce),
        hash: s.hash,
        raw: s.raw,
      })),
    );
  }

  // 3. Fee bump: a transfer broadcast long ago and still unmined gets a replacement at the same
  //    nonce with fees raised by 25 % (nodes require at least +10 %), never above the chain's caps.
  //    Both stay confirmable.
  const now = Date.now();
  for (const item of resend) {
    const t = mine.find((x) => x.transfer_id === item.transfer_id)!;
    if (t.status !== "broadcast" || now - Date.parse(t.updated_at) < opts.bumpAfterMs) continue;
    const fees = bumpedFees(t);
    // At the cap already: it waits for the chain instead of overpaying.
    if (!fees) continue;
    const bumped: TransferPlan = {
      ...t,
      max_fee_per_gas: fees.fee.toString(),
      max_priority_fee_per_gas: fees.tip.toString(),
    };
    const s = signTransfer(wallet, bumped);
    await rpc("record_transfer_attempt", {
      p_transfer_id: t.transfer_id,
      p_tx_hash: s.hash,
      p_raw_tx: s.raw,
      p_max_fee_per_gas: bumped.max_fee_per_gas,
      p_max_priority_fee_per_gas: bumped.max_priority_fee_per_gas,
    });
    item.hash = s.hash;
    item.raw = s.raw;
    counts.bumped++;
  }

  // 4. Rebroadcast the recorded bytes, then settle what got mined.
  let sent: Broadcasted[] = [];
  if (resend.length) {
    sent = await broadcastAll(chain, resend.sort((a, b) => a.nonce - b.nonce));
    await rpc("mark_transfers_broadcast", {
      p_transfer_ids: sent.filter((s) => !s.error).map((s) => s.transfer_id),
    });
    counts.rebroadcast += sent.filter((s) => !s.error).length;
  }

  // 5. Gaps: a released nonce below a live one blocks everything after it. Fill it with a no-op.
  counts.gaps_filled += await fillGaps(chain, wallet, used);

  if (sent.length) {
    const outcomes = await settle(chain, sent, opts.receiptTimeoutMs);
    counts.confirmed += outcomes.filter((o) => o.status === "confirmed").length;
    counts.failed += outcomes.filter((o) => o.status === "failed").length;
  }
  return counts;
}
