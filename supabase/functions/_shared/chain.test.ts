import assert from "node:assert/strict";
import { Transaction, Wallet } from "ethers";
import { erc20, signTransfer } from "./chain.ts";

const wallet = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const plan = {
  token_address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  to_address: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  amount: "123456789012345678901234567890",
  nonce: 7,
  chain_id: 31337,
  gas_limit: 120000,
  max_fee_per_gas: "20000000000",
  max_priority_fee_per_gas: "1000000000",
};

Deno.test("signing a transfer row is deterministic: the same row gives the same bytes (the outbox relies on it)", () => {
  const a = signTransfer(wallet, plan);
  const b = signTransfer(wallet, { ...plan });
  assert.equal(a.raw, b.raw);
  assert.equal(a.hash, b.hash);
});

Deno.test("the signed transaction carries exactly the row: nonce, chain, fees, recipient, amount as bigint", () => {
  const tx = Transaction.from(signTransfer(wallet, plan).raw);
  assert.equal(tx.nonce, 7);
  assert.equal(tx.chainId, 31337n);
  assert.equal(tx.maxFeePerGas, 20000000000n);
  assert.equal(tx.from, wallet.address);
  const [to, amount] = erc20.decodeFunctionData("transfer", tx.data);
  assert.equal(to.toLowerCase(), plan.to_address);
  assert.equal(amount, 123456789012345678901234567890n, "no precision lost: never a JS number");
});

Deno.test("a different nonce or fee gives a different transaction", () => {
  assert.notEqual(
    signTransfer(wallet, plan).hash,
    signTransfer(wallet, { ...plan, nonce: 8 }).hash,
  );
  assert.notEqual(
    signTransfer(wallet, plan).hash,
    signTransfer(wallet, { ...plan, max_fee_per_gas: "25000000000" }).hash,
  );
});
