// No stall behind our own gap: a node refuses one transaction of a run's batch for a passing
// reason (a full pool). Left `signed`, it would be a gap that every later nonce waits behind
// until a reconciler run minutes later. The run sends it again at once, and all are mined.
// Real anvil, behind a proxy that refuses the first attempt of one chosen transaction.
import assert from "node:assert/strict";
import { Wallet } from "ethers";
import { signTransfer, waitForReceipts } from "../supabase/functions/_shared/chain.ts";
import { JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";
import { broadcastAll } from "../supabase/functions/_shared/transfers.ts";
import { stack } from "./_support/stack.ts";

Deno.test("a transaction refused once in a batch is rebroadcast in the same run; no nonce waits", async () => {
  const anvil = new JsonRpc(stack.chain_rpc_url);
  const wallet = new Wallet(Wallet.createRandom().privateKey);
  await anvil.call("anvil_setBalance", [wallet.address, "0x56BC75E2D63100000"]);
  // Plain value transfers to self, signed like the pipeline signs (explicit nonce, fees, gas).
  const base = BigInt(
    await anvil.call<string>("eth_getTransactionCount", [wallet.address, "pending"]),
  );
  const signed = [0n, 1n, 2n, 3n].map((i) => {
    const s = signTransfer(wallet, {
      token_address: stack.token_address,
      to_address: wallet.address,
      amount: "0",
      nonce: String(base + i),
      chain_id: stack.chain_id,
      gas_limit: 100000,
      max_fee_per_gas: "20000000000",
      max_priority_fee_per_gas: "1000000000",
    });
    return { transfer_id: `t${i}`, nonce: Number(base + i), hash: s.hash, raw: s.raw };
  });
  const victim = signed[1].raw;
  let refused = 0;
  const ac = new AbortController();
  const proxy = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    signal: ac.signal,
    onListen: () => {},
  }, async (req) => {
    const calls = await req.json() as { id: number; method: string; params: string[] }[];
    const forward = calls.filter((c) => !(c.params?.[0] === victim && refused === 0));
    const out: unknown[] = [];
    if (forward.length !== calls.length) {
      refused++;
      const c = calls.find((c) => c.params?.[0] === victim)!;
      out.push({ jsonrpc: "2.0", id: c.id, error: { code: -32000, message: "txpool is full" } });
    }
    if (forward.length) {
      const res = await fetch(stack.chain_rpc_url, {
        method: "POST",
        body: JSON.stringify(forward),
        headers: { "content-type": "application/json" },
      });
      out.push(...await res.json());
    }
    return Response.json(out);
  });
  try {
    const chain = new JsonRpc(`http://127.0.0.1:${proxy.addr.port}`);
    const sent = await broadcastAll(chain, signed);
    assert.equal(refused, 1, "(control) the node refused the transaction once");
    assert.deepEqual(
      sent.map((s) => s.error?.message ?? null),
      [null, null, null, null],
      "all sent",
    );
    const receipts = await waitForReceipts(anvil, signed.map((s) => s.hash), 10_000);
    assert.ok(receipts.every((r) => r !== null), "every nonce mined, none waits behind a gap");
  } finally {
    ac.abort();
    await proxy.finished;
  }
});
