// RFC 6238 appendix B's SHA-1 test vectors (the 20-byte ASCII secret "12345678901234567890", 8 digits
// there; the last 6 here), the window, and base32 round trips.
import assert from "node:assert/strict";
import { base32Decode, base32Encode, codeAt, matchingStep, stepAt } from "./totp.ts";

const SECRET = base32Encode(new TextEncoder().encode("12345678901234567890"));

Deno.test("RFC 6238 SHA-1 vectors", () => {
  const vectors: [number, string][] = [
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ];
  for (const [t, code8] of vectors) assert.equal(codeAt(SECRET, stepAt(t * 1000)), code8.slice(2));
});

Deno.test("a code is accepted one step either side, not two", () => {
  const now = 1_700_000_000_000;
  const step = stepAt(now);
  assert.equal(matchingStep(SECRET, codeAt(SECRET, step - 1n), now), step - 1n);
  assert.equal(matchingStep(SECRET, codeAt(SECRET, step + 1n), now), step + 1n);
  assert.equal(matchingStep(SECRET, codeAt(SECRET, step - 2n), now), null);
  assert.equal(matchingStep(SECRET, "12345", now), null, "five digits");
  assert.equal(matchingStep(SECRET, "abcdef", now), null);
});

Deno.test("base32 round trip", () => {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
  assert.equal(base32Encode(new TextEncoder().encode("foobar")), "MZXW6YTBOI");
});
