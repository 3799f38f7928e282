// The common front of the treasury functions (distribute-tokens, reconcile-token-distributions):
// POST only; the service key or an admin with MFA; every chain and database setting present;
// a zod-valid JSON body. Anything else is answered here, before any work starts.
import { z } from "zod";
import { claimsOf, isServiceOrMfaAdmin } from "./caller.ts";
import { ConfigError, type Env, readEnv } from "./env.ts";
import { problem } from "./http.ts";
import type { createLogger } from "./logger.ts";
import { errorText } from "./logger.ts";

const SETTINGS = [
  "SUPABASE_URL",
  "SUPABASE_SERVICE_ROLE_KEY",
  "CHAIN_RPC_URL",
  "CHAIN_ID",
  "TREASURY_PRIVATE_KEY",
] as const;
export type TreasuryEnv = Env<typeof SETTINGS[number]>;

export async function openTreasuryRequest<S extends z.ZodTypeAny>(
  req: Request,
  schema: S,
  log: ReturnType<typeof createLogger>,
): Promise<{ env: TreasuryEnv; input: z.infer<S> } | Response> {
  if (req.method !== "POST") return problem(405, "POST only");
  if (!isServiceOrMfaAdmin(claimsOf(req))) {
    return problem(403, "service key or admin with MFA required");
  }
  let env: TreasuryEnv;
  try {
    env = readEnv(...SETTINGS);
  } catch (e) {
    log.error("misconfigured", { error: errorText(e) });
    return problem(500, e instanceof ConfigError ? e.message : "configuration error");
  }
  const text = await req.text();
  try {
    return { env, input: schema.parse(text.trim() ? JSON.parse(text) : {}) };
  } catch (e) {
    return problem(
      400,
      "invalid body",
      e instanceof z.ZodError ? e.issues.map((i) => i.message) : "not JSON",
    );
  }
}
