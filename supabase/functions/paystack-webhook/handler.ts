// Paystack webhook: verify the HMAC signature over the raw body, then record the event in one
// idempotent RPC (which also applies it and queues its distribution) and answer 200. Whatever a
// correctly signed body holds, it is stored and answered 200 (the database says what it could do
// with it); only a bad signature (401), an over-size body (413) and a database that could not
// record it (503, so that Paystack retries) are not.
import { ConfigError, readEnv } from "../_shared/env.ts";
import { json, problem, readLimitedBody } from "../_shared/http.ts";
import { createLogger, errorText } from "../_shared/logger.ts";
import { verifyPaystackSignature } from "../_shared/paystack-signature.ts";
import { rpc, RpcError } from "../_shared/supabase.ts";
import { eventType, storableEvent } from "./payload.ts";

const log = createLogger("paystack-webhook");

/** Paystack's events are a few KB; anything this large is refused before it is hashed. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

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
  const { event, altered } = storableEvent(raw);
  // The body as signed, as text (a body that is not UTF-8 keeps what decodes).
  const rawBody = new TextDecoder().decode(raw).replaceAll("\u0000", "\ufffd");
  try {
    const result = await rpc("record_paystack_event", {
      p_event: event,
      p_raw_body: rawBody,
    });
    log.info("recorded", {
      event: eventType(event),
      outcome: result.outcome,
      reason: "reason" in result ? result.reason : null,
      investment_id: result.investment_id,
      altered,
    });
    return json(200, { received: true, ...result });
  } catch (e) {
    // Not recorded: a 5xx makes Paystack retry, and recording is idempotent per event. Nothing
    // in an event's content makes the database refuse it, so this is never the event's fault.
    log.error("record failed", {
      event: eventType(event),
      error: errorText(e),
      code: e instanceof RpcError ? e.code : null,
    });
    return problem(503, "could not record the event; retry");
  }
}

export default { fetch: handle };
