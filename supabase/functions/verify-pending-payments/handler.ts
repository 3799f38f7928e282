// The verify sweep (pg_cron, or an admin with MFA): asks Paystack about investments still pending
// after paystack_verify_after, in case their webhook never came, and applies each successful
// answer exactly as its charge.success (record_paystack_verification). Bounded per call: at most
// `limit` investments, a few requests at a time, none started after the time budget.
import { z } from "zod";
import { claimsOf, isServiceOrMfaAdmin } from "../_shared/caller.ts";
import { ConfigError, readEnv } from "../_shared/env.ts";
import { json, problem } from "../_shared/http.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import type { RpcResult } from "../_shared/rpc-results.ts";
import { rpc } from "../_shared/supabase.ts";
import { PAYSTACK_API_URL, verifyTransaction } from "./paystack-api.ts";

const log = createLogger("verify-pending-payments");

const input = z.object({
  older_than_seconds: z.number().int().min(0).max(90 * 86400).optional(),
  limit: z.number().int().min(1).max(200).optional(),
}).strict();

/** Requests to Paystack at once, and no new one after this long (each has its own 10 s timeout). */
const CONCURRENCY = 5;
const BUDGET_MS = 60_000;

type Due = RpcResult<"paystack_payments_to_verify">[number];

export type SweepResult = {
  checked: number;
  confirmed: number;
  amount_mismatch: number;
  still_pending: number;
  already_recorded: number;
  unprocessable: number;
  errors: number;
  error_details: { investment_id: string; error: string }[];
};

export async function handle(req: Request): Promise<Response> {
  if (req.method !== "POST") return problem(405, "POST only");
  if (!isServiceOrMfaAdmin(claimsOf(req))) {
    return problem(403, "service key or admin with MFA required");
  }
  let secret: string;
  let apiUrl: string;
  try {
    secret = readEnv("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "PAYSTACK_SECRET_KEY")
      .PAYSTACK_SECRET_KEY;
    apiUrl = Deno.env.get("PAYSTACK_API_URL") || PAYSTACK_API_URL;
    if (!URL.canParse(apiUrl)) {
      throw new ConfigError("configuration error: PAYSTACK_API_URL is not a URL");
    }
  } catch (e) {
    log.error("misconfigured", { error: errorText(e) });
    return problem(500, e instanceof ConfigError ? e.message : "configuration error");
  }
  let body: z.infer<typeof input>;
  try {
    const text = await req.text();
    body = input.parse(text.trim() ? JSON.parse(text) : {});
  } catch (e) {
    return problem(
      400,
      "invalid body",
      e instanceof z.ZodError ? e.issues.map((i) => i.message) : "not JSON",
    );
  }

  let due: Due[];
  try {
    due = await rpc("paystack_payments_to_verify", {
      p_older_than: body.older_than_seconds === undefined
        ? null
        : `${body.older_than_seconds} seconds`,
      p_limit: body.limit ?? 50,
    });
  } catch (e) {
    log.error("could not list pending payments", { error: errorText(e) });
    return problem(503, "database unavailable; retry");
  }

  const result: SweepResult = {
    checked: 0,
    confirmed: 0,
    amount_mismatch: 0,
    still_pending: 0,
    already_recorded: 0,
    unprocessable: 0,
    errors: 0,
    error_details: [],
  };
  const failed = (d: Due, error: string) => {
    result.errors++;
    if (result.error_details.length < 20) {
      result.error_details.push({ investment_id: d.investment_id, error });
    }
  };
  const deadline = Date.now() + BUDGET_MS;
  const queue = [...due];
  const worker = async () => {
    for (let d = queue.shift(); d && Date.now() < deadline; d = queue.shift()) {
      result.checked++;
      const answer = await verifyTransaction(apiUrl, secret, d.reference);
      if (answer.kind === "error") {
        failed(d, answer.error);
        continue;
      }
      if (answer.kind === "not_found") {
        result.still_pending++;
        continue;
      }
      try {
        const r = await rpc("record_paystack_verification", {
          p_reference: d.reference,
          p_transaction: answer.transaction,
        });
        count(result, r.outcome);
      } catch (e) {
        failed(d, `could not record: ${errorText(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  log.info("swept", { ...result, error_details: undefined, left: queue.length });
  return json(200, result);
}

function count(r: SweepResult, outcome: string) {
  if (outcome === "investment_confirmed") r.confirmed++;
  else if (outcome === "amount_mismatch") r.amount_mismatch++;
  else if (outcome === "still_pending") r.still_pending++;
  else if (outcome === "unprocessable") r.unprocessable++;
  else r.already_recorded++; // duplicate, or the investment moved on meanwhile
}

export default { fetch: handle };
