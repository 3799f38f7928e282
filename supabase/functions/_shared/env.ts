// Settings from the environment, validated with zod. A missing or malformed setting produces one
// clear error naming it, before any work starts, never a crash halfway through.
import { z } from "zod";

const url = z.string().url();
// One or more endpoints, comma-separated: the chain client fails over between them.
const urlList = z.string().refine(
  (v) => v.split(",").map((u) => u.trim()).every((u) => z.string().url().safeParse(u).success),
  "must be one or more URLs separated by commas",
);
const hexKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex key");

export const settings = {
  SUPABASE_URL: url,
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(20),
  PAYSTACK_SECRET_KEY: z.string().min(8),
  CHAIN_RPC_URL: urlList,
  CHAIN_ID: z.string().regex(/^\d+$/, "must be a positive integer").transform((s) => BigInt(s)),
  TREASURY_PRIVATE_KEY: hexKey,
};

type Settings = typeof settings;
export type Env<K extends keyof Settings> = { [P in K]: z.output<Settings[P]> };

export class ConfigError extends Error {}

export function readEnv<K extends keyof Settings>(...keys: K[]): Env<K> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const k of keys) {
    const raw = Deno.env.get(k);
    if (raw === undefined || raw === "") {
      problems.push(`${k} is not set`);
      continue;
    }
    const parsed = settings[k].safeParse(raw);
    if (parsed.success) out[k] = parsed.data;
    else problems.push(`${k} ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  }
  if (problems.length) throw new ConfigError(`configuration error: ${problems.join(", ")}`);
  return out as Env<K>;
}
