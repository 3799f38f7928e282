// The console's clock: business-zone times always carry their offset, and a time typed for a
// business day becomes that instant (what the slot forms send).
import assert from "node:assert/strict";
import { clockInZone, dayInZone, formatInZone, offsetAt, timeOnDay } from "./time.ts";

Deno.test("Lagos is UTC+01:00 all year (no daylight saving)", () => {
  assert.equal(offsetAt(new Date("2026-01-15T12:00:00Z")), "+01:00");
  assert.equal(offsetAt(new Date("2026-07-15T12:00:00Z")), "+01:00");
});

Deno.test("an instant is shown in the business zone with the offset", () => {
  assert.equal(formatInZone("2026-11-22T08:30:00Z"), "2026-11-22 09:30:00 +01:00");
  assert.equal(formatInZone(null), "—");
  assert.equal(
    formatInZone("2026-11-22T23:30:00Z"),
    "2026-11-23 00:30:00 +01:00",
    "the next day there",
  );
});

Deno.test("a time typed for a business day is that day's instant, and reads back the same", () => {
  const iso = timeOnDay("2026-11-22", "09:15");
  assert.equal(iso, "2026-11-22T09:15:00+01:00");
  assert.equal(new Date(iso).toISOString(), "2026-11-22T08:15:00.000Z");
  assert.equal(clockInZone(iso), "09:15");
  assert.equal(dayInZone(new Date("2026-11-22T23:30:00Z")), "2026-11-23");
});

Deno.test("another zone: New York's offset follows daylight saving", () => {
  assert.equal(offsetAt(new Date("2026-01-15T12:00:00Z"), "America/New_York"), "-05:00");
  assert.equal(offsetAt(new Date("2026-07-15T12:00:00Z"), "America/New_York"), "-04:00");
});
