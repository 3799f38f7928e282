// The forms' data code: what an admin types reaches the RPC exact, or is refused with the field's
// name before anything is sent; never NaN, a float or a silent 0.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  clockText,
  decimalText,
  exact,
  FormError,
  slotRows,
  wholeNumber,
  wholeText,
} from "./forms.ts";

const digits = fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: 1, maxLength: 30 });

Deno.test("a typed decimal is sent as the same text: no binary rounding, however long", () => {
  fc.assert(
    fc.property(digits, fc.option(digits, { nil: undefined }), (whole, frac) => {
      const typed = frac === undefined ? whole : `${whole}.${frac}`;
      assert.equal(decimalText(` ${typed} `, "ROS %"), typed);
    }),
  );
  assert.equal(decimalText("0.1", "ROS %"), "0.1");
  assert.equal(exact(decimalText("0.1", "ROS %")) as unknown, "0.1");
});

Deno.test("anything but a plain decimal is refused with the field's name, never sent as NaN or 0", () => {
  for (const bad of ["", " ", "abc", "NaN", "Infinity", "-1", "1e3", "0x10", "1.", ".5", "1,5"]) {
    assert.throws(() => decimalText(bad, "ROS %"), (e: Error) => {
      assert.ok(e instanceof FormError);
      assert.match(e.message, /^ROS %: /);
      return true;
    });
  }
  fc.assert(fc.property(fc.string(), (s) => {
    try {
      const t = decimalText(s, "x");
      // Whatever passes is a finite, non-negative decimal that Postgres reads exactly.
      assert.match(t, /^\d+(\.\d+)?$/);
    } catch (e) {
      assert.ok(e instanceof FormError);
    }
  }));
});

Deno.test("wei and chain ids are whole numbers; a depth or slot number too large for a JS integer is refused", () => {
  assert.equal(
    wholeText("115792089237316195423570985008687907853269984665640564039457", "wei"),
    "115792089237316195423570985008687907853269984665640564039457",
  );
  assert.throws(() => wholeText("1.5", "wei"), FormError);
  assert.equal(wholeNumber("31337", "Chain id"), 31337);
  assert.throws(() => wholeNumber("1234567890123456", "Chain id"), /too large/);
  assert.throws(() => wholeNumber("", "Min confirmations"), /Min confirmations/);
});

Deno.test("times are HH:MM on the 24-hour clock", () => {
  assert.equal(clockText("09:00", "Time"), "09:00");
  assert.equal(clockText("23:59", "Time"), "23:59");
  for (const bad of ["", "9:00", "24:00", "12:60", "noon", "09:00:00"]) {
    assert.throws(() => clockText(bad, "Time"), FormError);
  }
});

Deno.test("the slot form's rows become the RPC's slots; a bad row is named", () => {
  assert.deepEqual(
    slotRows("2026-11-22", [["1", "0.5", "09:00"], ["2", " 0.25 ", "15:30"]]),
    [
      { slot_number: 1, ros_percentage: "0.5", scheduled_for: "2026-11-22T09:00:00+01:00" },
      { slot_number: 2, ros_percentage: "0.25", scheduled_for: "2026-11-22T15:30:00+01:00" },
    ],
  );
  assert.throws(
    () => slotRows("2026-11-22", [["1", "0.5", "09:00"], ["2", "half", "10:00"]]),
    /^FormError: Row 2, ROS %/,
  );
  assert.throws(() => slotRows("2026-11-22", [["", "0.5", "09:00"]]), /Row 1, slot/);
  assert.throws(() => slotRows("2026-11-22", [["1", "0.5", ""]]), /Row 1, time/);
});
