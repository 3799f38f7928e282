// Paystack webhook: verify the HMAC signature over the raw body, validate, record the event in one
// idempotent RPC (which also confirms the investment and queues its distribution), answer 200.
// 5xx only when nothing could be recorded, so that Paystack retries.
import { ConfigError, readEnv } from "../_shared/env.ts";
import { json, problem, readLimitedBody } from "../_shared/http.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import { verifyPaystackSignature } from "../_shared/paystack-signature.ts";
import { rpc, RpcError } from "../_shared/supabase.ts";
import { paystackEvent } from "./payload.ts";

const log = createLogger("paystack-webhook");

/** Paystack's events are a few KB; anything this large is refused before it is hashed. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

type Outcome = { outcome: string; investment_id: string | null; user_id: string | null };

export async function handle(req: Request): Promise<Response> {
  if (req.method !== "POST") return problem(405, "POST only");
  let secret: string;
  try {
    secret = readEnv("PAYSTACK_SECRET_KEY").PAYSTACK_SECRET_KEY;
  } catch (e) {
    log.error("misconfigured", { error: errorText(e) });
    return problem(500, e instanceof ConfigError ? e.message : "configuration error");
  }
  const raw = await readLimitedBody(req, MAX_WEBHOOK_BODY_BYTES);
  if (!raw) {
    log.warn("rejected: body too large");
    return problem(413, `body larger than ${MAX_WEBHOOK_BODY_BYTES} bytes`);
  }
  if (!verifyPaystackSignature(raw, req.headers.get("x-paystack-signature"), secret)) {
    log.warn("rejected: bad or missing signature");
    return problem(401, "invalid signature");
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(raw));
  } catch {
    return problem(400, "body is not JSON");
  }
  const parsed = paystackEvent.safeParse(body);
  if (!parsed.success) {
    log.warn("rejected: unexpected payload", { issues: parsed.error.issues.length });
    return problem(400, "unexpected payload", parsed.error.issues.map((i) => i.path.join(".")));
  }
  try {
    const result = await rpc("record_paystack_event", { p_event: parsed.data }) as Outcome;
    log.info("recorded", {
      event: parsed.data.event,
      outcome: result.outcome,
      investment_id: result.investment_id,
    });
    return json(200, { received: true, ...result });
  } catch (e) {
    if (e instanceof RpcError && e.status >= 400 && e.status < 500) {
      // The database refused the event itself (PT400): a retry would be refused again.
      log.warn("rejected by the database", { code: e.code });
      return problem(400, "event refused", e.message);
    }
    // Not recorded: a 5xx makes Paystack retry, and recording is idempotent per event.
    log.error("record failed", {
      error: errorText(e),
      code: e instanceof RpcError ? e.code : null,
    });
    return problem(503, "could not record the event; retry");
  }
}

export default { fetch: handle };
