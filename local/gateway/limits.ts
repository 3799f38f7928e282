// Hosted Supabase's limits on API requests, applied here exactly (CONTRACT "Platform limits"):
// - statement_timeout per role: anon 3 s, authenticated 8 s (their own `alter role … set`), and
//   service-role requests run under the authenticator's 8 s and lock_timeout 8 s, as PostgREST
//   connects as authenticator;
// - a function's own `set statement_timeout` is hoisted (PostgREST applies it before the call,
//   where a SET clause could not reach the statement already running);
// - a request is cut at 60 s whatever the settings say;
// - at most MAX_ROWS rows from a view or a set-returning function (PostgREST's max_rows).
export const MAX_ROWS = 1000;
export const REQUEST_LIMIT_MS = 60_000;

const UNITS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A statement_timeout setting in milliseconds (0: none), or null when it cannot be read. */
export function timeoutMs(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  if (!m) return null;
  const unit = m[2].toLowerCase() || "ms";
  return unit in UNITS ? Number(m[1]) * UNITS[unit] : null;
}

/**
 * The settings one request runs under, in order (a later one wins): the authenticator's, the
 * role's own, the function's hoisted statement_timeout, then the 60 s cut.
 */
export function requestSettings(
  authenticator: [string, string][],
  role: [string, string][],
  hoisted: [string, string][],
): [string, string][] {
  const all = [...authenticator, ...role, ...hoisted];
  const last = all.filter(([k]) => k === "statement_timeout").pop();
  const ms = last ? timeoutMs(last[1]) : null;
  const capped = ms === null || ms === 0 || ms > REQUEST_LIMIT_MS ? REQUEST_LIMIT_MS : ms;
  return [...all.filter(([k]) => k !== "statement_timeout"), ["statement_timeout", `${capped}ms`]];
}
