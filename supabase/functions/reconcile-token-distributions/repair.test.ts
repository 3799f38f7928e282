// The reconciler's decisions where the real chain cannot easily misbehave on demand: an RPC node
// that errors must never make a transfer look unmined, and a gap filler that was not sent must not
// be recorded as used. The database side is a stub that records which RPCs were called.
import assert from "node:assert/strict";
import { Wallet } from "ethers";
import { type Call, type JsonRpc, JsonRpcError } from "../_shared/json-rpc.ts";
import { bumpedFees, repair, type StuckTransfer } from "./repair.ts";

const wallet = new Wallet(
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
);
const hash = "0x" + "ab".repeat(32);

function stubDatabase(answers: Record<string, unknown>) {
  const called: string[] = [];
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: () => {},
  }, async (req) => {
    const fn = new URL(req.url).pathname.split("/").pop()!;
    await req.body?.cancel();
    called.push(fn);
    return Response.json(answers[fn] ?? {});
  });
  Deno.env.set("SUPABASE_URL", `http://127.0.0.1:${server.addr.port}`);
  Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", "x".repeat(40));
  return { called, close: () => server.shutdown() };
}

type Handler = (method: string, params: unknown[]) => unknown;
/** A quiet chain's fee quote (1 wei base fee and tip) and head, unless the test's handler answers. */
function withFees(handle: Handler): Handler {
  return (method, params) =>
    method === "eth_feeHistory"
      ? { baseFeePerGas: ["0x1", "0x1"] }
      : method === "eth_maxPriorityFeePerGas"
      ? "0x1"
      : method === "eth_blockNumber"
      ? handle(method, params) ?? "0x20"
      : handle(method, params);
}
function fakeChain(handler: Handler): JsonRpc {
  const handle = withFees(handler);
  return {
    call: (method: string, params: unknown[] = []) => {
      const r = handle(method, params);
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    },
    batch: (calls: Call[]) => Promise.resolve(calls.map((c) => handle(c.method, c.params))),
    // One batch: `each` answered once, before the calls.
    batches: (calls: Call[], each: Call[] = []) =>
      Promise.resolve({
        results: calls.map((c) => handle(c.method, c.params)),
        each: [each.map((c) => handle(c.method, c.params))],
      }),
  } as unknown as JsonRpc;
}

function stuck(nonce: number): StuckTransfer {
  return {
    transfer_id: crypto.randomUUID(),
    signer: wallet.address.toLowerCase(),
    status: "broadcast",
    tx_hash: hash,
    raw_tx: "0x02",
    attempt_hashes: [hash],
    updated_at: new Date().toISOString(),
    token_address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    to_address: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    amount: "1",
    nonce,
    chain_id: 31337,
    gas_limit: 120000,
    max_fee_per_gas: "20000000000",
    max_priority_fee_per_gas: "1000000000",
    tokenization_id: crypto.randomUUID(),
    user_id: crypto.randomUUID(),
    block_number: null,
    investment_ids: [],
    // The default policy's caps (transfers_to_reconcile always sends them).
    fee_cap: "100000000000",
    tip_cap: "100000000000",
  };
}

const opts = { bumpAfterMs: 60_000, receiptTimeoutMs: 0 };

Deno.test("a receipt lookup that errors aborts the run: the transfer is not failed (no double pay)", async () => {
  const db = stubDatabase({});
  try {
    const chain = fakeChain((m) =>
      m === "eth_getTransactionCount"
        ? "0x5"
        : m === "eth_getTransactionReceipt"
        ? new JsonRpcError(-32000, "upstream timeout")
        : null
    );
    await assert.rejects(
      () => repair(chain, wallet, [stuck(3)], opts),
      /upstream timeout/,
    );
    assert.ok(
      !db.called.includes("fail_token_transfer"),
      "nothing was failed on a lookup error",
    );
  } finally {
    await db.close();
  }
});

Deno.test("(control) no receipt and the nonce used by another transaction: the transfer is failed", async () => {
  const db = stubDatabase({
    // As the RPCs answer (rpc-results.ts): a stub of another shape fails the parse.
    fail_token_transfer: {
      transfer_id: crypto.randomUUID(),
      status: "failed",
      already_failed: false,
      released: 1,
      nonce_released: false,
    },
    released_nonces: {
      released: [],
      max_live_nonce: null,
      max_fee_per_gas: "3",
      max_priority_fee_per_gas: "1",
      chain_next_is_gap: false,
    },
  });
  try {
    const chain = fakeChain((m) =>
      m === "eth_getTransactionCount" ? "0x5" : m === "eth_chainId" ? "0x7a69" : null
    );
    const counts = await repair(chain, wallet, [stuck(3)], opts);
    assert.equal(counts.failed, 1);
    assert.ok(db.called.includes("fail_token_transfer"));
  } finally {
    await db.close();
  }
});

Deno.test("a gap filler that could not be sent is not recorded as used, so the gap stays visible", async () => {
  const db = stubDatabase({
    released_nonces: {
      released: [1],
      max_live_nonce: 2,
      max_fee_per_gas: "3",
      max_priority_fee_per_gas: "1",
      chain_next_is_gap: false,
    },
    confirm_token_transfers: [],
  });
  try {
    const chain = fakeChain((m) => {
      if (m === "eth_getTransactionCount") return "0x1";
      if (m === "eth_blockNumber") return "0x20";
      if (m === "eth_chainId") return "0x7a69";
      if (m === "eth_getTransactionReceipt") {
        return { status: "0x1", blockNumber: "0x10", transactionHash: hash };
      }
      if (m === "eth_sendRawTransaction") {
        return new JsonRpcError(-32000, "insufficient funds for gas");
      }
      return null;
    });
    await assert.rejects(
      () => repair(chain, wallet, [stuck(2)], opts),
      /insufficient funds/,
    );
    assert.ok(
      db.called.includes("confirm_token_transfers"),
      "the mined transfer was confirmed first",
    );
    assert.ok(
      !db.called.includes("consume_released_nonce"),
      "the nonce stays released",
    );
  } finally {
    await db.close();
  }
});

Deno.test("a replacement's fees rise 25 %, never above the caps, and not at all when the caps leave less than +10 %", () => {
  const t = {
    ...stuck(1),
    max_fee_per_gas: "100",
    max_priority_fee_per_gas: "10",
  };
  assert.deepEqual(bumpedFees(t), { fee: 125n, tip: 12n });
  assert.deepEqual(bumpedFees({ ...t, fee_cap: "115", tip_cap: "11" }), {
    fee: 115n,
    tip: 11n,
  });
  assert.equal(
    bumpedFees({ ...t, fee_cap: "105" }),
    null,
    "+5 % would be refused by nodes",
  );
  assert.equal(
    bumpedFees({ ...t, fee_cap: "100" }),
    null,
    "at the cap: no replacement",
  );
});
