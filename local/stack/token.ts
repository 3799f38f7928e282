// Deploys PropertyToken (whole supply to the treasury) with ethers, signing locally and polling
// for the receipt (see LOCAL-STACK-NOTES: ethers' wait() can hang on anvil).
import { ContractFactory, Transaction, Wallet } from "ethers";
import { JsonRpc } from "../../supabase/functions/_shared/json-rpc.ts";
import { pendingNonce, waitForReceipts } from "../../supabase/functions/_shared/chain.ts";

const artifact = new URL("../../build/PropertyToken.json", import.meta.url);

export async function deployPropertyToken(
  rpc: JsonRpc,
  chainId: number,
  treasuryKey: string,
  opts = {
    name: "Lekki Gardens Property Token",
    symbol: "LGPT",
    supply: 1_000_000_000n,
    decimals: 0,
  },
): Promise<string> {
  const { abi, bytecode } = JSON.parse(await Deno.readTextFile(artifact));
  const wallet = new Wallet(treasuryKey);
  const factory = new ContractFactory(abi, bytecode);
  const deploy = await factory.getDeployTransaction(
    opts.name,
    opts.symbol,
    opts.supply,
    wallet.address,
    opts.decimals,
  );
  const tx = Transaction.from({
    type: 2,
    chainId: BigInt(chainId),
    nonce: Number(await pendingNonce(rpc, wallet.address)),
    data: deploy.data,
    gasLimit: 3_000_000n,
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
  });
  tx.signature = wallet.signingKey.sign(tx.unsignedHash);
  const hash = await rpc.call<string>("eth_sendRawTransaction", [tx.serialized]);
  const [receipt] = await waitForReceipts(rpc, [hash], 20_000);
  if (!receipt || receipt.status !== "0x1") throw new Error("PropertyToken deployment failed");
  return (receipt as unknown as { contractAddress: string }).contractAddress;
}
