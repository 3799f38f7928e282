// The webhook handler in isolation: its answers when it is misconfigured or the database is down.
import assert from "node:assert/strict";
import { paystackSignature } from "../_shared/paystack-signature.ts";
import { chargeSuccess } from "../../../tests/_support/paystack-events.ts";
import { handle } from "./handler.ts";

const SECRET = "sk_test_unit_secret_for_the_handler";
const body = JSON.stringify(chargeSuccess({ reference: "INV-X", amount: 100 }));
const signed = () =>
  new Request("http://x/functions/v1/paystack-webhook", {
    method: "POST",
    headers: { "x-paystack-signature": paystackSignature(new TextEncoder().encode(body), SECRET) },
    body,
  });

Deno.test("a missing PAYSTACK_SECRET_KEY is a clear 500, not a crash", async () => {
  Deno.env.delete("PAYSTACK_SECRET_KEY");
  const res = await handle(signed());
  assert.equal(res.status, 500);
  assert.match((await res.json()).error, /PAYSTACK_SECRET_KEY is not set/);
});

Deno.test("database unreachable: 5xx, so that Paystack retries", async () => {
  Deno.env.set("PAYSTACK_SECRET_KEY", SECRET);
  Deno.env.set("SUPABASE_URL", "http://127.0.0.1:9"); // nothing listens on the discard port
  Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", "x".repeat(40));
  const res = await handle(signed());
  assert.equal(res.status, 503);
  await res.body?.cancel();
});

Deno.test("a valid signature over a body that is not a Paystack event is never refused: it goes to the database", async () => {
  Deno.env.set("PAYSTACK_SECRET_KEY", SECRET);
  Deno.env.set("SUPABASE_URL", "http://127.0.0.1:9"); // unreachable: 503, so Paystack retries
  for (const raw of [JSON.stringify({ hello: "world" }), "not JSON", "[]"]) {
    const res = await handle(
      new Request("http://x", {
        method: "POST",
        headers: {
          "x-paystack-signature": paystackSignature(new TextEncoder().encode(raw), SECRET),
        },
        body: raw,
      }),
    );
    assert.equal(res.status, 503, raw);
    await res.body?.cancel();
  }
});
