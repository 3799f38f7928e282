import assert from "node:assert/strict";
import fc from "fast-check";
import { paystackShape } from "../../../tests/_support/paystack-events.ts";
import { MAX_DEPTH, storableEvent, TOO_DEEP } from "./payload.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const stored = (s: string) => JSON.stringify(storableEvent(bytes(s)).event);

Deno.test("a published event is kept exactly: nothing altered", () => {
  for (const name of ["charge.success", "refund.processed", "charge.dispute.create"]) {
    const text = JSON.stringify(paystackShape(name));
    const r = storableEvent(bytes(text));
    assert.equal(r.altered, false, name);
    assert.deepEqual(JSON.parse(JSON.stringify(r.event)), JSON.parse(text), name);
  }
});

Deno.test("numbers keep every digit: never a JS float on the way to Postgres", () => {
  const text =
    '{"data":{"amount":1152921504606846976,"fee":1.50,"x":2e3,"big":123456789012345678901234567890}}';
  assert.equal(stored(text), text);
});

Deno.test("what jsonb cannot hold is replaced, and said so: NUL, lone surrogates, in values and keys", () => {
  const r = storableEvent(
    bytes('{"a":"x\\u0000y","b":"\\ud800","c":"\\udc00z","\\u0000k":1,"ok":"\\ud83d\\udcb8"}'),
  );
  assert.equal(r.altered, true);
  assert.deepEqual(JSON.parse(JSON.stringify(r.event)), {
    a: "x\ufffdy",
    b: "\ufffd",
    c: "\ufffdz",
    "\ufffdk": 1,
    ok: "💸",
  });
});

Deno.test("nesting deeper than the stored limit becomes a marker; the rest is kept", () => {
  const text = `{"event":"charge.success","data":{"reference":"R","metadata":${"[".repeat(200)}${
    "]".repeat(200)
  }}}`;
  const r = storableEvent(bytes(text));
  assert.equal(r.altered, true);
  let v = (r.event as { data: { metadata: unknown } }).data.metadata;
  let depth = 2;
  while (Array.isArray(v)) {
    v = v[0];
    depth++;
  }
  assert.equal(v, TOO_DEEP);
  assert.equal(depth, MAX_DEPTH);
  assert.equal((r.event as { data: { reference: string } }).data.reference, "R");
});

Deno.test("a body that is not JSON (or not UTF-8) is null, never a throw", () => {
  for (const b of [bytes("not json"), bytes(""), new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])]) {
    assert.deepEqual(storableEvent(b), { event: null, altered: true });
  }
});

Deno.test("property: any JSON text is stored as itself when jsonb can hold it, else marked altered", () => {
  fc.assert(
    fc.property(fc.json({ maxDepth: 6 }), (text) => {
      const r = storableEvent(bytes(text));
      const again = JSON.stringify(r.event);
      // What comes out is always JSON with no NUL and no lone surrogate.
      assert.equal(again.includes("\\u0000") || again.includes("\u0000"), false);
      assert.equal(again.isWellFormed(), true);
      if (!r.altered) assert.deepEqual(JSON.parse(again), JSON.parse(text));
    }),
    { numRuns: 300 },
  );
});
