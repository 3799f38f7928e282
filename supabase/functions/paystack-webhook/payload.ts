// A signed body as the database can store it. Paystack's events are JSON, but the payer fills
// some of it (metadata, names), and jsonb cannot hold everything JSON can: a \u0000, a lone
// surrogate, or arbitrarily deep nesting. The event is kept exactly where jsonb can hold it; only
// what it cannot is replaced, and the body as signed is stored beside it (raw_body).
// Numbers keep every digit: they are carried as their source text, never as JS numbers.
import { isExactNumber, parseExactJson } from "../_shared/exact-json.ts";

/** Nesting kept in the stored event; deeper values become a marker string. Paystack's own
 * fields are at most 4 levels deep. */
export const MAX_DEPTH = 32;
export const TOO_DEEP = `[nested deeper than ${MAX_DEPTH} levels: see raw_body]`;

export type StorableEvent = {
  /** the event as jsonb can hold it, or null when the body is not JSON */
  event: unknown;
  /** whether anything had to be replaced (or the body was not JSON at all) */
  altered: boolean;
};

// U+0000 and unpaired surrogates, the two things jsonb refuses in a string.
const UNSTORABLE =
  "\\u0000|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]";
const HAS_UNSTORABLE = new RegExp(UNSTORABLE);
const ALL_UNSTORABLE = new RegExp(UNSTORABLE, "g");

function storableString(s: string, mark: () => void): string {
  if (!HAS_UNSTORABLE.test(s)) return s;
  mark();
  return s.replace(ALL_UNSTORABLE, "\ufffd");
}

function storable(value: unknown, depth: number, mark: () => void): unknown {
  if (typeof value === "string") return storableString(value, mark);
  if (value === null || typeof value !== "object" || isExactNumber(value)) return value;
  if (depth >= MAX_DEPTH) {
    mark();
    return TOO_DEEP;
  }
  if (Array.isArray(value)) return value.map((v) => storable(v, depth + 1, mark));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[storableString(k, mark)] = storable(v, depth + 1, mark);
  }
  return out;
}

/** Parses a signed body into what the database can store. Never throws. */
export function storableEvent(raw: Uint8Array): StorableEvent {
  let parsed: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    // 2^60 and 1.50 stay exactly what was signed.
    parsed = parseExactJson(text);
  } catch {
    return { event: null, altered: true };
  }
  let altered = false;
  const event = storable(parsed, 0, () => (altered = true));
  return { event, altered };
}

/** The event's type for logs: a short string, or null. */
export function eventType(event: unknown): string | null {
  const t = (event as { event?: unknown } | null)?.event;
  return typeof t === "string" ? t.slice(0, 100) : null;
}
