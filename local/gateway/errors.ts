// PostgREST's mapping of Postgres errors to HTTP statuses, for the subset this project uses.
export type PgError = { code?: string; message?: string; detail?: string; hint?: string };

export function httpStatusFor(code: string | undefined, role: string): number {
  if (!code) return 500;
  const custom = /^PT(\d{3})$/.exec(code);
  if (custom) return Number(custom[1]);
  if (code === "42501") return role === "anon" ? 401 : 403;
  if (code === "P0001") return 400;
  if (code === "23505" || code === "23503") return 409;
  if (code === "42883" || code === "42P01") return 404;
  if (code === "40001" || code === "40P01") return 409;
  if (code.startsWith("22") || code.startsWith("23")) return 400;
  if (code === "57014") return 504;
  if (code.startsWith("08") || code === "53300" || code === "57P01") return 503;
  return 500;
}

export function errorBody(e: PgError) {
  return {
    code: e.code ?? "PGRST000",
    message: e.message ?? "internal error",
    details: e.detail ?? null,
    hint: e.hint ?? null,
  };
}

export function jsonResponse(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}
