import assert from "node:assert/strict";
import { ConfigError, readEnv } from "./env.ts";

function withEnv(vars: Record<string, string | undefined>, fn: () => void) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) {
    v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
  try {
    fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  }
}

Deno.test("a missing setting is a clear error naming it", () => {
  withEnv({ TREASURY_PRIVATE_KEY: undefined }, () => {
    assert.throws(() => readEnv("TREASURY_PRIVATE_KEY"), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /TREASURY_PRIVATE_KEY is not set/);
      return true;
    });
  });
});

Deno.test("malformed settings are named, and every problem is reported at once", () => {
  withEnv({ CHAIN_ID: "abc", CHAIN_RPC_URL: "not a url" }, () => {
    assert.throws(
      () => readEnv("CHAIN_ID", "CHAIN_RPC_URL"),
      /CHAIN_ID must be a positive integer.*CHAIN_RPC_URL/,
    );
  });
});

Deno.test("the error never echoes a secret's value", () => {
  withEnv({ TREASURY_PRIVATE_KEY: "0xnot-a-key-but-still-secret" }, () => {
    assert.throws(
      () => readEnv("TREASURY_PRIVATE_KEY"),
      (e: Error) => !e.message.includes("not-a-key"),
    );
  });
});

Deno.test("valid settings parse; CHAIN_ID becomes a bigint", () => {
  withEnv({ CHAIN_ID: "31337" }, () => {
    assert.equal(readEnv("CHAIN_ID").CHAIN_ID, 31337n);
  });
});

Deno.test("CHAIN_RPC_URL takes one URL or several separated by commas, nothing else", () => {
  withEnv({ CHAIN_RPC_URL: "https://a.example/rpc, https://b.example/rpc" }, () => {
    assert.equal(
      readEnv("CHAIN_RPC_URL").CHAIN_RPC_URL,
      "https://a.example/rpc, https://b.example/rpc",
    );
  });
  withEnv({ CHAIN_RPC_URL: "https://a.example/rpc,not a url" }, () => {
    assert.throws(() => readEnv("CHAIN_RPC_URL"), /CHAIN_RPC_URL/);
  });
});
