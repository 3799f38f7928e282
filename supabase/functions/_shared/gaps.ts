// Nonce gaps: a released nonce (its transfer was failed before anything with that nonce could be
// mined) below a live one blocks every later transaction of the treasury. A gap is filled with a
// no-op (zero value to itself), signed like any transfer at what the chain asks, under its cap.
import { Transaction, type Wallet } from "ethers";
import { feeQuote, isAlreadyKnown, isNonceTooLow, pendingNonce } from "./chain.ts";
import { type JsonRpc, JsonRpcError } from "./json-rpc.ts";
import { rpc } from "./supabase.ts";

/**
 * Fills the released nonces below the highest live one, from `used` (the chain's count) up, and
 * the chain's next nonce itself when nothing of ours is pending there and no transfer holds it
 * (a filler that a reorg took away leaves such a gap, with no released nonce to show it).
 */
export async function fillGaps(chain: JsonRpc, wallet: Wallet, used: bigint): Promise<number> {
  const [chainIdHex, fees, pending] = await Promise.all([
    chain.call<string>("eth_chainId"),
    feeQuote(chain),
    pendingNonce(chain, wallet.address),
  ]);
  const chainId = BigInt(chainIdHex);
  const info = await rpc("released_nonces", {
    p_chain_id: Number(chainId),
    p_signer: wallet.address.toLowerCase(),
    p_base_fee_per_gas: fees.baseFee.toString(),
    p_priority_fee_per_gas: fees.tip.toString(),
    p_chain_next_nonce: pending === used ? Number(used) : null,
  }) as {
    released: number[];
    max_live_nonce: number | null;
    max_fee_per_gas: string | null;
    max_priority_fee_per_gas: string | null;
    chain_next_is_gap: boolean;
  };
  // Above the cap nothing is signed, fillers included: the gap waits for fees to fall.
  if (info.max_live_nonce === null || info.max_fee_per_gas === null) return 0;
  const fill = async (nonce: number) => {
    const tx = Transaction.from({
      type: 2,
      chainId,
      nonce,
      to: wallet.address,
      value: 0n,
      gasLimit: 21_000n,
      maxFeePerGas: BigInt(info.max_fee_per_gas!),
      maxPriorityFeePerGas: BigInt(info.max_priority_fee_per_gas!),
    });
    tx.signature = wallet.signingKey.sign(tx.unsignedHash);
    const [sent] = await chain.batch([{
      method: "eth_sendRawTransaction",
      params: [tx.serialized],
    }]);
    if (sent instanceof JsonRpcError && !isAlreadyKnown(sent) && !isNonceTooLow(sent)) throw sent;
  };
  let filled = 0;
  for (const nonce of info.released) {
    if (nonce >= info.max_live_nonce || BigInt(nonce) < used) continue;
    // Send first, then mark the nonce used: marking first and failing to send would hide the gap
    // for good. (If a claim reuses the nonce meanwhile, that transfer is failed as "nonce used by
    // another transaction" and its investments are planned again: nothing is paid twice.)
    await fill(nonce);
    await rpc("consume_released_nonce", {
      p_chain_id: Number(chainId),
      p_signer: wallet.address,
      p_nonce: nonce,
    });
    filled++;
  }
  if (info.chain_next_is_gap && !info.released.includes(Number(used))) {
    await fill(Number(used));
    filled++;
  }
  return filled;
}
