// What the forms send: the typed text, checked for its shape only, and kept exact. A percentage or
// an amount in wei goes to Postgres as the decimal text the admin typed (a `numeric` parameter
// takes it as it is); `Number()` would turn "" into 0, "abc" into NaN (sent as null) and
// "0.1" into a binary fraction. Ranges, precision and every business rule stay in the database,
// whose refusal (PT400 with its message and hint) the page shows.
import type { SlotInput } from "./api.ts";
import { timeOnDay } from "./time.ts";

export class FormError extends Error {
  override name = "FormError";
}

const DECIMAL = /^\d+(\.\d+)?$/;
const WHOLE = /^\d+$/;
const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

/** A non-negative decimal as typed ("0.5", "12"), trimmed; anything else is refused. */
export function decimalText(text: string, label: string): string {
  const t = text.trim();
  if (!DECIMAL.test(t)) throw new FormError(`${label}: "${text}" is not a decimal number`);
  return t;
}

/** A whole number as typed (wei, a chain id), trimmed and kept as text. */
export function wholeText(text: string, label: string): string {
  const t = text.trim();
  if (!WHOLE.test(t)) throw new FormError(`${label}: "${text}" is not a whole number`);
  return t;
}

/** A small whole number (a slot number, a depth, a chain id) for an integer parameter. */
export function wholeNumber(text: string, label: string): number {
  const t = wholeText(text, label);
  if (t.length > 15) throw new FormError(`${label}: ${t} is too large`);
  return Number(t);
}

/** "HH:MM" on the 24-hour clock. */
export function clockText(text: string, label: string): string {
  const t = text.trim();
  if (!CLOCK.test(t)) throw new FormError(`${label}: "${text}" is not a time (HH:MM)`);
  return t;
}

/**
 * The generated types say `number` for a `numeric` parameter; PostgREST and Postgres take the
 * decimal text, which is what keeps it exact. The one place that crosses that line.
 */
export function exact(decimal: string): number {
  return decimal as unknown as number;
}

/** The declare/add form's rows (slot number, ROS %, HH:MM) as the slots the RPCs take. */
export function slotRows(day: string, rows: [string, string, string][]): SlotInput[] {
  return rows.map(([n, pct, at], i) => {
    const row = `Row ${i + 1}`;
    return {
      slot_number: wholeNumber(n, `${row}, slot`),
      ros_percentage: decimalText(pct, `${row}, ROS %`),
      scheduled_for: timeOnDay(day, clockText(at, `${row}, time`)),
    };
  });
}
