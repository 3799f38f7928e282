// Chain access for the token pipeline: ethers v6 encodes and signs locally (explicit nonce, chain
// id, gas and fees, so a transfer row can always be signed again to the same bytes); raw JSON-RPC
// broadcasts and polls receipts (anvil answers before its block is committed, so ethers' wait()
// can hang: we poll with a deadline instead).
import { Interface, Transaction, Wallet } from "ethers";
import { JsonRpc, JsonRpcError } from "./json-rpc.ts";

export const erc20 = new Interface([
  "function transfer(address to, uint256 amount) returns (bool)",
  "function balanceOf(address owner) view returns (uint256)",
  "function totalSupply() view returns (uint256)",
]);

export type TransferPlan = {
  token_address: string;
  to_address: string;
  amount: string; // base units, decimal string: never a JS number
  nonce: number | string;
  chain_id: number | string;
  gas_limit: number | string;
  max_fee_per_gas: string;
  max_priority_fee_per_gas: string;
};

export type Receipt = { status: string; blockNumber: string; transactionHash: string };

/** Deterministic: the same plan and key always give the same raw bytes and hash. */
export function signTransfer(wallet: Wallet, p: TransferPlan): { hash: string; raw: string } {
  const tx = Transaction.from({
    type: 2,
    chainId: BigInt(p.chain_id),
    nonce: Number(p.nonce),
    to: p.token_address,
    data: erc20.encodeFunctionData("transfer", [p.to_address, BigInt(p.amount)]),
    value: 0n,
    gasLimit: BigInt(p.gas_limit),
    maxFeePerGas: BigInt(p.max_fee_per_gas),
    maxPriorityFeePerGas: BigInt(p.max_priority_fee_per_gas),
  });
  tx.signature = wallet.signingKey.sign(tx.unsignedHash);
  return { hash: tx.hash!, raw: tx.serialized };
}

/** Errors that mean "these exact bytes are already known or mined": not a failure. */
export function isAlreadyKnown(e: JsonRpcError): boolean {
  return /already known|already imported|known transaction/i.test(e.message);
}

export function isNonceTooLow(e: JsonRpcError): boolean {
  return /nonce too low|nonce has already been used|NonceTooLow/i.test(e.message);
}

export async function broadcast(rpc: JsonRpc, raws: string[]): Promise<(string | JsonRpcError)[]> {
  const sent = await rpc.batches<string>(
    raws.map((raw) => ({ method: "eth_sendRawTransaction", params: [raw] })),
  );
  return sent.results;
}

/** Receipts by hash; null means "not mined (yet)". A failed lookup is also null by default, which is
 * right for waiting; a caller that decides from absence (the reconciler failing a transfer) must
 * pass strict, so that an RPC error can never be read as "not mined". */
export async function receipts(
  rpc: JsonRpc,
  hashes: string[],
  opts: { strict?: boolean } = {},
): Promise<(Receipt | null)[]> {
  const { results } = await rpc.batches<Receipt | null>(
    hashes.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })),
  );
  return results.map((r) => {
    if (r instanceof Error && opts.strict) throw r;
    return r instanceof Error ? null : r;
  });
}

/** Polls until every hash has a receipt or the deadline passes; missing ones stay null. */
export async function waitForReceipts(
  rpc: JsonRpc,
  hashes: string[],
  timeoutMs = 15_000,
  intervalMs = 25,
  enough: () => boolean = () => false,
): Promise<(Receipt | null)[]> {
  const out: (Receipt | null)[] = hashes.map(() => null);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pending = out.map((r, i) => (r ? -1 : i)).filter((i) => i >= 0);
    if (pending.length === 0) return out;
    const got = await receipts(rpc, pending.map((i) => hashes[i]));
    got.forEach((r, j) => (out[pending[j]] = r));
    if (got.every((r) => r) || Date.now() > deadline || enough()) return out;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function balanceOf(rpc: JsonRpc, token: string, owner: string): Promise<bigint> {
  const data = erc20.encodeFunctionData("balanceOf", [owner]);
  return BigInt(await rpc.call<string>("eth_call", [{ to: token, data }, "latest"]));
}

export async function pendingNonce(rpc: JsonRpc, address: string): Promise<bigint> {
  return BigInt(await rpc.call<string>("eth_getTransactionCount", [address, "pending"]));
}

/**
 * What the chain asks for the next block (EIP-1559): its base fee (the last entry of
 * eth_feeHistory is the next block's) and the node's suggested tip. The database caps them.
 */
export async function feeQuote(rpc: JsonRpc): Promise<{ baseFee: bigint; tip: bigint }> {
  const [history, tip] = await Promise.all([
    rpc.call<{ baseFeePerGas: string[] }>("eth_feeHistory", ["0x1", "latest", []]),
    rpc.call<string>("eth_maxPriorityFeePerGas", []),
  ]);
  const fees = history.baseFeePerGas;
  return { baseFee: BigInt(fees[fees.length - 1]), tip: BigInt(tip) };
}

export async function latestNonce(rpc: JsonRpc, address: string): Promise<bigint> {
  return BigInt(await rpc.call<string>("eth_getTransactionCount", [address, "latest"]));
}

/** A uint256 as eth_call returns it: one 32-byte ABI word. */
const UINT256_WORD = /^0x[0-9a-fA-F]{64}$/;

/**
 * The treasury's native balance and its balance of each token, at the latest block. A native
 * balance that cannot be read is an error (nothing can be guarded without it). A token whose
 * balance cannot be read (no contract at the address: "0x"; a call that reverts or answers
 * anything but one uint256) is listed in `unreadable` with the reason, never read as a zero or a
 * guess, and never stops the others: the database defers its investments alone.
 */
export async function treasuryBalances(
  rpc: JsonRpc,
  owner: string,
  tokens: string[],
): Promise<{ native: bigint; tokens: Record<string, string>; unreadable: Record<string, string> }> {
  const data = erc20.encodeFunctionData("balanceOf", [owner]);
  const { results } = await rpc.batches<string>([
    { method: "eth_getBalance", params: [owner, "latest"] },
    ...tokens.map((to) => ({ method: "eth_call", params: [{ to, data }, "latest"] })),
  ]);
  const [native, ...held] = results;
  if (native instanceof JsonRpcError) throw native;
  const readable: Record<string, string> = {};
  const unreadable: Record<string, string> = {};
  tokens.forEach((t, i) => {
    const r = held[i];
    if (r instanceof JsonRpcError) unreadable[t] = `balanceOf failed: ${r.message.slice(0, 200)}`;
    else if (r === "0x") unreadable[t] = "no contract at this address (balanceOf answered 0x)";
    else if (typeof r !== "string" || !UINT256_WORD.test(r)) {
      unreadable[t] = "balanceOf did not answer one uint256";
    } else readable[t] = BigInt(r).toString();
  });
  return { native: BigInt(native as string), tokens: readable, unreadable };
}

/** Room above the estimate, for state that changes between the estimate and the block (the
 * estimate itself is exact for a token transfer; a larger margin only fits fewer in a block). */
export const GAS_MARGIN_PERCENT = 10n;

export type GasEstimate = { gas: bigint } | { reverts: string } | { unknown: string };

/**
 * What each transfer needs in gas (eth_estimateGas from the treasury, plus the margin, at most the
 * planned ceiling), or that it would revert (the node says so: it is not sent). A node that
 * cannot estimate is not a revert: the transfer keeps its planned ceiling.
 */
export async function estimateTransferGas(
  rpc: JsonRpc,
  from: string,
  plans: TransferPlan[],
): Promise<GasEstimate[]> {
  let results: (string | JsonRpcError)[];
  try {
    ({ results } = await rpc.batches<string>(plans.map((p) => ({
      method: "eth_estimateGas",
      params: [{
        from,
        to: p.token_address,
        data: erc20.encodeFunctionData("transfer", [p.to_address, BigInt(p.amount)]),
      }],
    }))));
  } catch (e) {
    return plans.map(() => ({ unknown: String(e) }));
  }
  return results.map((r, i) => {
    const ceiling = BigInt(plans[i].gas_limit);
    if (r instanceof JsonRpcError) {
      return isRevert(r) ? { reverts: r.message } : { unknown: r.message };
    }
    const needed = BigInt(r);
    if (needed > ceiling) return { reverts: `needs ${needed} gas, above the ceiling ${ceiling}` };
    const padded = needed + (needed * GAS_MARGIN_PERCENT + 99n) / 100n;
    return { gas: padded < ceiling ? padded : ceiling };
  });
}

/** The node's answer for a call that would revert (geth and anvil: code 3 or "execution reverted"). */
export function isRevert(e: JsonRpcError): boolean {
  return e.code === 3 || /revert/i.test(e.message);
}

/** How deep a nonce's use must be before a missing receipt means another transaction took it. */
export const TAKEN_DEPTH = 3n;

/**
 * A view of the chain to decide from absence ("no receipt, nonce used": another transaction took
 * it; "no receipt any more": reorganised away). The nonce count is read AT a block seen first
 * (`head`), and the receipts after it, each batch with a fresh head of its own: a node answers a
 * batch's calls in any order (anvil runs them concurrently), so a count read "latest" could
 * include a block the receipts were read before, and a mined transfer would look taken by another
 * transaction and be paid twice. A node behind the first head (another endpoint, lagging) aborts
 * the view; so does any batch answered by one (many receipts take several batches, and each may
 * reach another node). `usedBefore` is the nonce count TAKEN_DEPTH blocks below that head: a
 * node's receipt index can trail its own head (geth indexes a block's transactions after
 * importing it), so only a nonce used that long ago, with still no receipt of ours, was taken by
 * another transaction. Strict: any error throws.
 */
export async function chainView(
  rpc: JsonRpc,
  address: string,
  hashes: string[],
): Promise<{ head: bigint; used: bigint; usedBefore: bigint; receipts: (Receipt | null)[] }> {
  const head = BigInt(await rpc.call<string>("eth_blockNumber", []));
  const before = head > TAKEN_DEPTH ? head - TAKEN_DEPTH : 0n;
  const { results, each } = await rpc.batches<unknown>([
    { method: "eth_getTransactionCount", params: [address, "0x" + head.toString(16)] },
    { method: "eth_getTransactionCount", params: [address, "0x" + before.toString(16)] },
    ...hashes.map((h) => ({ method: "eth_getTransactionReceipt", params: [h] })),
  ], [{ method: "eth_blockNumber", params: [] }]);
  const failed = [...results, ...each.flat()].find((r) => r instanceof JsonRpcError);
  if (failed) throw failed;
  if (each.some(([now]) => BigInt(now as string) < head)) {
    throw new JsonRpcError(-32000, `chain view: a node behind block ${head} answered; retry later`);
  }
  const [used, usedBefore, ...found] = results as [string, string, ...(Receipt | null)[]];
  return { used: BigInt(used), usedBefore: BigInt(usedBefore), head, receipts: found };
}
