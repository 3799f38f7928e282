// A failed request as PostgREST answers it: the SQLSTATE, message, details and hint of Postgres'
// error under PostgREST's status. 503 only when the database could not be reached.
import type { Caller } from "./auth.ts";
import { errorBody, httpStatusFor, isUnreachable, jsonResponse, type PgError } from "./errors.ts";
import { log } from "./log.ts";

export function failure(e: unknown, caller: Caller): Response {
  const err = e as PgError;
  if (isUnreachable(e)) {
    log("warn", "database unreachable", {
      code: err?.code ?? null,
      error: String(err?.message ?? e),
    });
    return jsonResponse(503, {
      code: "PGRST000",
      message: "database unavailable, retry",
      details: String(err?.message ?? e),
      hint: null,
    });
  }
  if (!err?.code || !/^[0-9A-Z]{5}$/.test(err.code)) {
    log("error", "gateway query failed without a SQLSTATE", { error: String(err?.message ?? e) });
    return jsonResponse(500, {
      code: "PGRST000",
      message: "internal gateway error",
      details: null,
      hint: null,
    });
  }
  return jsonResponse(httpStatusFor(err.code, caller.role), errorBody(err));
}
