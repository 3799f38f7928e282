// The service-role supabase-js client the functions use to call RPCs.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { readEnv } from "./env.ts";

let cached: { key: string; client: SupabaseClient } | null = null;

/** One client per (URL, key): reused across requests, rebuilt if the settings change. */
export function serviceClient(): SupabaseClient {
  const env = readEnv("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
  const key = `${env.SUPABASE_URL} ${env.SUPABASE_SERVICE_ROLE_KEY}`;
  if (cached?.key !== key) {
    cached = {
      key,
      client: createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, {
        auth: { persistSession: false, autoRefreshToken: false },
      }),
    };
  }
  return cached.client;
}

export class RpcError extends Error {
  constructor(
    readonly fn: string,
    readonly code: string | undefined,
    message: string,
    readonly status = 0,
  ) {
    super(`${fn}: ${message}`);
  }
}

/** Calls an RPC and returns its data, or throws RpcError (the caller decides what is retryable). */
export async function rpc<T>(fn: string, args: Record<string, unknown>): Promise<T> {
  const { data, error, status } = await serviceClient().rpc(fn, args);
  if (error) throw new RpcError(fn, error.code, error.message, status);
  return data as T;
}
