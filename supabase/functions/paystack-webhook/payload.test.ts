import assert from "node:assert/strict";
import { paystackEvent } from "./payload.ts";

const base = {
  event: "charge.success",
  data: { id: 1, reference: "INV-1", amount: 100, currency: "NGN" },
};

Deno.test("metadata may be an object, an empty string or 0, as Paystack sends it", () => {
  for (const metadata of [{ a: 1 }, "", 0, null]) {
    assert.ok(
      paystackEvent.safeParse({ ...base, data: { ...base.data, metadata } }).success,
      String(metadata),
    );
  }
});

Deno.test("an amount that is not an exact integer is refused, never rounded", () => {
  for (const amount of [1.5, -1, 2 ** 60]) {
    assert.equal(
      paystackEvent.safeParse({ ...base, data: { ...base.data, amount } }).success,
      false,
      String(amount),
    );
  }
});

Deno.test("unknown fields are kept for the stored event", () => {
  const parsed = paystackEvent.parse({ ...base, data: { ...base.data, customer: { id: 9 } } });
  assert.deepEqual((parsed.data as Record<string, unknown>).customer, { id: 9 });
});

Deno.test("an event without data.id is refused", () => {
  assert.equal(paystackEvent.safeParse({ event: "charge.success", data: {} }).success, false);
});

Deno.test("a refund's amount may be a string of kobo, never a decimal or words", () => {
  const refund = (amount: unknown) =>
    paystackEvent.safeParse({
      event: "refund.processed",
      data: { id: 7, transaction_reference: "INV-1", amount, currency: "NGN" },
    }).success;
  assert.equal(refund("10000"), true);
  assert.equal(refund(10000), true);
  for (const bad of ["1.5", "-1", "1e3", "ten", ""]) assert.equal(refund(bad), false, bad);
});
