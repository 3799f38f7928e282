// GET /transaction/verify/:reference on Paystack's API, read strictly: only Paystack's own
// answer about a transaction counts. A timeout, a 5xx, a refused key or an answer of another
// shape is an error (the investment stays pending), never "not paid".
import { parseExactJson } from "../_shared/exact-json.ts";

export type Verification =
  | { kind: "found"; transaction: Record<string, unknown> }
  | { kind: "not_found" }
  | { kind: "error"; error: string };

export const PAYSTACK_API_URL = "https://api.paystack.co";
const TIMEOUT_MS = 10_000;

export async function verifyTransaction(
  baseUrl: string,
  secretKey: string,
  reference: string,
): Promise<Verification> {
  let res: Response;
  try {
    res = await fetch(
      `${baseUrl.replace(/\/+$/, "")}/transaction/verify/${encodeURIComponent(reference)}`,
      {
        headers: { authorization: `Bearer ${secretKey}`, accept: "application/json" },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      },
    );
  } catch (e) {
    return { kind: "error", error: e instanceof Error ? e.name : "request failed" };
  }
  const body = readAnswer(await res.text().catch(() => ""));
  if (res.status === 200 && body?.status === true && isObject(body.data)) {
    return { kind: "found", transaction: body.data };
  }
  // Paystack answers an unknown reference 400 (or 404) {"status": false, "message":
  // "Transaction reference not found"}: nobody paid with it (yet).
  if (
    (res.status === 400 || res.status === 404) && body?.status === false &&
    typeof body.message === "string" && /not found/i.test(body.message)
  ) return { kind: "not_found" };
  if (res.status === 401) return { kind: "error", error: "Paystack refused the secret key (401)" };
  return { kind: "error", error: `unexpected answer (HTTP ${res.status})` };
}

type Answer = { status?: unknown; message?: unknown; data?: unknown };

/** Paystack's answer envelope, or null when the body is not a JSON object. */
function readAnswer(text: string): Answer | null {
  try {
    const v = parseExactJson(text);
    return isObject(v) ? v as Answer : null;
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
