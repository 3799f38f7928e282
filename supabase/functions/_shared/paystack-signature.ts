// Paystack signs each webhook with HMAC-SHA512 of the raw body under the secret key, hex encoded,
// in `x-paystack-signature`. Compared in constant time over the raw bytes, before any parsing.
import { createHmac, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

export function paystackSignature(rawBody: Uint8Array, secret: string): string {
  return createHmac("sha512", secret).update(rawBody).digest("hex");
}

export function verifyPaystackSignature(
  rawBody: Uint8Array,
  header: string | null,
  secret: string,
): boolean {
  if (!header || !/^[0-9a-f]{128}$/i.test(header.trim())) return false;
  const expected = Buffer.from(paystackSignature(rawBody, secret), "hex");
  const given = Buffer.from(header.trim(), "hex");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
