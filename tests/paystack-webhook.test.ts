// The webhook's door: only a correct HMAC-SHA512 of the raw body gets in.
import assert from "node:assert/strict";
import { paystackSignature } from "../supabase/functions/_shared/paystack-signature.ts";
import { stack } from "./_support/stack.ts";

const url = `${stack.api_url}/functions/v1/paystack-webhook`;

function send(body: string, signature?: string) {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(signature ? { "x-paystack-signature": signature } : {}),
    },
    body,
  });
}

const event = JSON.stringify({
  event: "charge.success",
  data: { id: 1, reference: "no-such-reference", amount: 100, currency: "NGN", metadata: "" },
});
const sign = (b: string) =>
  paystackSignature(new TextEncoder().encode(b), stack.paystack_secret_key);

Deno.test("webhook without a signature is 401", async () => {
  const r = await send(event);
  assert.equal(r.status, 401);
  await r.body?.cancel();
});

Deno.test("webhook with a forged signature is 401", async () => {
  const r = await send(
    event,
    paystackSignature(new TextEncoder().encode(event), "sk_test_wrong_key"),
  );
  assert.equal(r.status, 401);
  await r.body?.cancel();
});

Deno.test("webhook whose body was tampered with after signing is 401", async () => {
  const r = await send(event.replace('"amount":100', '"amount":1'), sign(event));
  assert.equal(r.status, 401);
  await r.body?.cancel();
});

Deno.test("webhook with a valid signature gets past the signature check", async () => {
  const r = await send(event, sign(event));
  assert.notEqual(r.status, 401);
  await r.body?.cancel();
});
