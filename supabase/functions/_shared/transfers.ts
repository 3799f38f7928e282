// The chain half of the token pipeline, shared by distribute-tokens and the reconciler: sign from
// the stored row (deterministic), record before broadcast, broadcast all, then collect receipts.
import type { Wallet } from "ethers";
import {
  broadcast,
  estimateTransferGas,
  isAlreadyKnown,
  isNonceTooLow,
  receipts as receiptsOf,
  signTransfer,
  waitForReceipts,
} from "./chain.ts";
import { type JsonRpc, JsonRpcError } from "./json-rpc.ts";
import type { RpcResult } from "./rpc-results.ts";
import { rpc } from "./supabase.ts";

/** A transfer as the claim hands it out (claim_token_distributions). */
export type PlannedTransfer = RpcResult<"claim_token_distributions">[number];

export type Outcome = {
  transfer_id: string;
  nonce: number;
  tx_hash: string;
  /** pending: no receipt yet, or mined but not yet as deep as the chain's min_confirmations. */
  status: "confirmed" | "failed" | "pending";
  error?: string;
};

/** One confirmation item: the receipt's block and the chain's head, so the database can judge depth. */
export type Confirmation = {
  transfer_id: string;
  tx_hash: string;
  block_number: string;
  head_block: string;
};

/**
 * Records receipts; the database decides from the depth whether each transfer is final
 * (`confirmed`) or only `mined` (the chain's min_confirmations). Returns the ids made final.
 */
export async function recordReceipts(chain: JsonRpc, items: Omit<Confirmation, "head_block">[]) {
  if (!items.length) return new Set<string>();
  const head = BigInt(await chain.call<string>("eth_blockNumber")).toString();
  const results = await rpc("confirm_token_transfers", {
    p_confirmations: items.map((c) => ({ ...c, head_block: head })),
  });
  return new Set(results.filter((r) => r.status === "confirmed").map((r) => r.transfer_id));
}

/**
 * Sets each claimed transfer's gas limit from eth_estimateGas (plus a margin, at most the planned
 * ceiling). One that would revert is not sent: it is failed with its nonce released (its
 * investments go back to be claimed again, and stop as failed after three tries).
 */
export async function withGasEstimates(
  chain: JsonRpc,
  from: string,
  claimed: PlannedTransfer[],
): Promise<{ planned: PlannedTransfer[]; refused: Outcome[] }> {
  const estimates = await estimateTransferGas(chain, from, claimed);
  const planned: PlannedTransfer[] = [];
  const refused: Outcome[] = [];
  for (const [i, plan] of claimed.entries()) {
    const e = estimates[i];
    if ("reverts" in e) {
      await rpc("fail_token_transfer", {
        p_transfer_id: plan.transfer_id,
        // A node's revert text may carry raw bytes (NUL included), which no text column takes.
        p_error: `not sent: it would revert (${printable(e.reverts).slice(0, 300)})`,
        p_nonce_consumed: false,
      });
      refused.push({
        transfer_id: plan.transfer_id,
        nonce: Number(plan.nonce),
        tx_hash: "",
        status: "failed",
        error: "would revert",
      });
    } else {
      planned.push("gas" in e ? { ...plan, gas_limit: Number(e.gas) } : plan);
    }
  }
  return { planned, refused };
}

function printable(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, " ");
}

/** Signs each planned transfer and stores hash + raw bytes in one RPC before anything leaves. */
export async function signAndRecord(
  wallet: Wallet,
  planned: PlannedTransfer[],
  afterSign: () => void = () => {},
) {
  const signed = planned.map((p) => ({ plan: p, ...signTransfer(wallet, p) }));
  afterSign();
  if (signed.length) {
    await rpc("record_signed_transfers", {
      p_transfers: signed.map((s) => ({
        transfer_id: s.plan.transfer_id,
        tx_hash: s.hash,
        raw_tx: s.raw,
        // What the bytes were signed with: the row keeps it, so a re-sign gives the same bytes.
        gas_limit: String(s.plan.gas_limit),
      })),
    });
  }
  return signed;
}

export type Broadcasted = {
  transfer_id: string;
  nonce: number;
  hash: string;
  error?: JsonRpcError;
};

/** Attempts after the first, for transactions a node refused (100, 200, 400 ms apart). */
const REBROADCASTS = 3;

/**
 * Broadcasts the recorded bytes, in nonce order. A transaction a node refused for a passing reason
 * (a full pool, a node behind, a dropped connection) is sent again at once, a few times: left
 * `signed`, it would be a gap every later nonce waits behind until a reconciler run minutes later
 * (the stall seen in one benchmark run: 37 of 1,000 unmined after 60 s). "Already known" and
 * "nonce too low" mean the chain has it (or its nonce is used): not an error.
 */
export async function broadcastAll(
  chain: JsonRpc,
  items: { transfer_id: string; nonce: number; hash: string; raw: string }[],
): Promise<Broadcasted[]> {
  const sorted = [...items].sort((a, b) => a.nonce - b.nonce);
  const errors = new Map<string, JsonRpcError | undefined>();
  let todo = sorted;
  for (let attempt = 0; todo.length && attempt <= REBROADCASTS; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
    let results: (string | JsonRpcError)[];
    try {
      results = await broadcast(chain, todo.map((i) => i.raw));
    } catch (e) {
      // A batch failed on every endpoint: all of this round goes again. Earlier batches of it may
      // have gone out; their same bytes come back "already known" or "nonce too low", no error.
      const err = e instanceof JsonRpcError ? e : new JsonRpcError(-32603, String(e));
      results = todo.map(() => err);
    }
    todo.forEach((item, i) => {
      const r = results[i];
      errors.set(
        item.transfer_id,
        r instanceof JsonRpcError && !isAlreadyKnown(r) && !isNonceTooLow(r) ? r : undefined,
      );
    });
    todo = todo.filter((item) => errors.get(item.transfer_id));
  }
  return items.map((item) => ({
    transfer_id: item.transfer_id,
    nonce: item.nonce,
    hash: item.hash,
    error: errors.get(item.transfer_id),
  }));
}

/**
 * Mined but not yet final (the chain's min_confirmations): while the run's time lasts, each new
 * block re-reads their receipts (a reorganised one is left to the reconciler) and records them
 * with the new head, so a run ends with what it sent final instead of leaving it to the next
 * reconciler run. Adds the ids made final to `final`.
 */
const STALL_MS = 2_500;

async function untilFinal(
  chain: JsonRpc,
  mined: Omit<Confirmation, "head_block">[],
  final: Set<string>,
  deadline: number,
  enough: () => boolean,
): Promise<void> {
  let waiting = mined;
  let head = -1n;
  let lastBlockAt = Date.now();
  // A chain that makes no block for a while (a dev chain mining on demand, a stalled network)
  // is left to the reconciler instead of holding the run until its deadline.
  while (
    waiting.length && Date.now() < deadline && Date.now() - lastBlockAt < STALL_MS && !enough()
  ) {
    await new Promise((r) => setTimeout(r, 250));
    const now = BigInt(await chain.call<string>("eth_blockNumber"));
    if (now === head) continue;
    head = now;
    lastBlockAt = Date.now();
    const got = await receiptsOf(chain, waiting.map((c) => c.tx_hash));
    const still = waiting.flatMap((c, i) =>
      got[i]?.status === "0x1"
        ? [{ ...c, block_number: BigInt(got[i]!.blockNumber).toString() }]
        : []
    );
    for (const id of await recordReceipts(chain, still)) final.add(id);
    waiting = still.filter((c) => !final.has(c.transfer_id));
  }
}

/** Waits for receipts and settles each transfer: success confirms, revert fails (nonce consumed),
 * no receipt leaves it for the reconciler. `enough` ends the waiting early (the caller's CPU
 * budget): what has no receipt or depth by then stays pending for the reconciler. */
export async function settle(
  chain: JsonRpc,
  sent: Broadcasted[],
  timeoutMs: number,
  beforeConfirm: () => void = () => {},
  enough: () => boolean = () => false,
): Promise<Outcome[]> {
  const deadline = Date.now() + timeoutMs;
  const live = sent.filter((s) => !s.error);
  const receipts = await waitForReceipts(chain, live.map((s) => s.hash), timeoutMs, 25, enough);
  const outcomes: Outcome[] = sent.filter((s) => s.error).map((s) => ({
    transfer_id: s.transfer_id,
    nonce: s.nonce,
    tx_hash: s.hash,
    status: "pending" as const,
    error: s.error!.message,
  }));
  const confirmations: { transfer_id: string; tx_hash: string; block_number: string }[] = [];
  const reverted: Broadcasted[] = [];
  live.forEach((s, i) => {
    const r = receipts[i];
    if (!r) {
      outcomes.push({
        transfer_id: s.transfer_id,
        nonce: s.nonce,
        tx_hash: s.hash,
        status: "pending",
      });
    } else if (r.status === "0x1") {
      confirmations.push({
        transfer_id: s.transfer_id,
        tx_hash: s.hash,
        block_number: BigInt(r.blockNumber).toString(),
      });
    } else reverted.push(s);
  });
  beforeConfirm();
  const final = await recordReceipts(chain, confirmations);
  await untilFinal(
    chain,
    confirmations.filter((c) => !final.has(c.transfer_id)),
    final,
    deadline,
    enough,
  );
  for (const c of confirmations) {
    const s = live.find((x) => x.transfer_id === c.transfer_id)!;
    outcomes.push({
      transfer_id: c.transfer_id,
      nonce: s.nonce,
      tx_hash: c.tx_hash,
      status: final.has(c.transfer_id) ? "confirmed" : "pending",
    });
  }
  for (const s of reverted) {
    await rpc("fail_token_transfer", {
      p_transfer_id: s.transfer_id,
      p_error: "reverted on chain",
      p_nonce_consumed: true,
    });
    outcomes.push({
      transfer_id: s.transfer_id,
      nonce: s.nonce,
      tx_hash: s.hash,
      status: "failed",
      error: "reverted",
    });
  }
  return outcomes.sort((a, b) => a.nonce - b.nonce);
}
