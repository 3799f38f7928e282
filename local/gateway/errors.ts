// PostgREST's mapping of Postgres errors to HTTP statuses (its "HTTP Status Codes" table), so a
// client sees locally exactly the status it will see on hosted Supabase.
export type PgError = { code?: string; message?: string; detail?: string; hint?: string };

const PREFIX_STATUS: [string, number][] = [
  ["08", 503],
  ["09", 500],
  ["0L", 403],
  ["0P", 403],
  ["25", 500],
  ["28", 403],
  ["2D", 500],
  ["38", 500],
  ["39", 500],
  ["3B", 500],
  ["40", 500],
  ["53", 503],
  ["54", 500],
  ["55", 500],
  ["57", 500],
  ["58", 500],
  ["F0", 500],
  ["HV", 500],
  ["P0", 500],
  ["XX", 500],
];

const EXACT_STATUS: Record<string, number> = {
  "23503": 409,
  "23505": 409,
  "25006": 405,
  "53400": 500,
  "P0001": 400,
  "42883": 404,
  "42P01": 404,
  "42P17": 500,
};

/** The HTTP status PostgREST answers for a SQLSTATE; anything it does not list is 400. */
export function httpStatusFor(code: string | undefined, role: string): number {
  if (!code) return 500;
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  if (code === "42501") return role === "anon" ? 401 : 403;
  if (code in EXACT_STATUS) return EXACT_STATUS[code];
  const prefix = PREFIX_STATUS.find(([p]) => code.startsWith(p));
  return prefix ? prefix[1] : 400;
}

// Errors with no SQLSTATE that mean the database could not be reached (postgres.js and Deno's
// socket codes), plus the server's own "shutting down / starting up" answers. Only these are 503:
// anything else that fails is a real error, never "database unavailable, retry".
const UNREACHABLE = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "57P01",
  "57P02",
  "57P03",
]);

export function isUnreachable(e: unknown): boolean {
  const err = e as PgError & { name?: string };
  if (err?.code && UNREACHABLE.has(err.code)) return true;
  if (err?.code?.startsWith("08")) return true;
  return /ECONNREFUSED|ECONNRESET|connection (closed|ended)|Connection refused/i.test(
    String(err?.message ?? ""),
  );
}

/**
 * Errors that prove a request's message never ran, so that sending it again cannot apply it twice:
 * the connection could not be made (nothing was sent), or it was reset. A backend that has read a
 * message closes its socket with FIN whatever happens next (Postgres reads a message whole before
 * it runs it, and Linux resets a closed socket only when unread data is left in it): a reset means
 * the message was never read, as when it went to a pooled connection whose backend had exited
 * (a restart). Any other loss (closed, ended, 57P01 after the message went out) leaves the outcome
 * unknown: never retried. This needs one message in flight per connection (`max_pipeline: 1`).
 */
const NEVER_DELIVERED = new Set([
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ENOTFOUND",
  "ECONNRESET",
  "EPIPE",
  "57P03",
]);

export function neverDelivered(e: unknown): boolean {
  const err = e as PgError;
  if (err?.code && NEVER_DELIVERED.has(err.code)) return true;
  return /ECONNREFUSED|ECONNRESET/.test(String(err?.message ?? ""));
}

export function errorBody(e: PgError) {
  return {
    code: e.code ?? "PGRST000",
    message: e.message ?? "internal error",
    details: e.detail ?? null,
    hint: e.hint || null,
  };
}

export function jsonResponse(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}
