import assert from "node:assert/strict";
import { parseResult, RpcResultError } from "./rpc-results.ts";

function withStrict<T>(value: string | undefined, fn: () => T): T {
  const saved = Deno.env.get("RPC_RESULTS_STRICT");
  value === undefined
    ? Deno.env.delete("RPC_RESULTS_STRICT")
    : Deno.env.set("RPC_RESULTS_STRICT", value);
  try {
    return fn();
  } finally {
    saved === undefined
      ? Deno.env.delete("RPC_RESULTS_STRICT")
      : Deno.env.set("RPC_RESULTS_STRICT", saved);
  }
}

const backlog = { deferred: 3, deferred_reason: "fee_cap" };

Deno.test("an answer of its schema's shape is returned as typed", () => {
  const r = withStrict(undefined, () => parseResult("distribution_backlog", backlog));
  assert.deepEqual(r, backlog);
});

Deno.test("a renamed or dropped key fails with the RPC and the path, strict or not", () => {
  for (const mode of [undefined, "1"]) {
    assert.throws(
      () =>
        withStrict(
          mode,
          () => parseResult("distribution_backlog", { deferred: 3, reason: "fee_cap" }),
        ),
      (e: unknown) =>
        e instanceof RpcResultError && e.fn === "distribution_backlog" &&
        e.issues.includes("deferred_reason"),
    );
  }
});

Deno.test("a key no schema lists: dropped in production, refused on test stacks", () => {
  const answer = { ...backlog, extra: 1 };
  assert.deepEqual(
    withStrict(undefined, () => parseResult("distribution_backlog", answer)),
    backlog,
  );
  assert.throws(
    () => withStrict("1", () => parseResult("distribution_backlog", answer)),
    (e: unknown) => e instanceof RpcResultError && e.issues.includes("extra"),
  );
  // At any depth: inside the rows of an array.
  const row = { transfer_id: "t", tx_hash: "0x1", raw_tx: "0x2" };
  assert.throws(
    () => withStrict("1", () => parseResult("transfers_to_resend", [{ ...row, nonce: 1 }])),
    RpcResultError,
  );
  assert.deepEqual(withStrict("1", () => parseResult("transfers_to_resend", [row])), [row]);
});

Deno.test("an amount sent as a JSON number is refused: amounts travel as decimal text", () => {
  assert.throws(
    () => parseResult("transfers_to_resend", [{ transfer_id: "t", tx_hash: 1, raw_tx: "0x2" }]),
    RpcResultError,
  );
  const holder = {
    user_id: "u",
    tokenization_id: "t",
    wallet_address: null,
    token_address: "0x",
    chain_id: 1,
    holdings: 5,
    distributed: "5",
    in_flight: "0",
  };
  const page = {
    holders: [holder],
    next_after: null,
    from: null,
    tokens: [],
    pass: {
      started_at: null,
      audited: 0,
      holders: 1,
      last_completed_at: null,
      last_pass_holders: null,
    },
  };
  assert.throws(() => parseResult("token_audit_targets", page), /holders\.0\.holdings/);
});

Deno.test("an alert stays open to the fields of its kind, even on test stacks", () => {
  const alert = { kind: "fee_cap_exceeded", chain_id: 1, since: null, base_fee_per_gas: "9" };
  assert.deepEqual(withStrict("1", () => parseResult("admin_token_alerts", [alert])), [alert]);
});

Deno.test("an RPC without a schema is returned as it came", () => {
  assert.equal(parseResult("execute_due_slots", 3), 3);
});
