// The service-role supabase-js client the functions use to call RPCs.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database, Json } from "./database.types.ts";
import { readEnv } from "./env.ts";
import { parseResult, type RpcResult } from "./rpc-results.ts";

let cached: { key: string; client: SupabaseClient<Database> } | null = null;

/** One client per (URL, key): reused across requests, rebuilt if the settings change. */
export function serviceClient(): SupabaseClient<Database> {
  const env = readEnv("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY");
  const key = `${env.SUPABASE_URL} ${env.SUPABASE_SERVICE_ROLE_KEY}`;
  if (cached?.key !== key) {
    cached = {
      key,
      client: createClient<Database>(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, {
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

type Functions = Database["public"]["Functions"];
/** An RPC of the generated types: a renamed function fails `deno check`. */
export type RpcName = keyof Functions & string;
/**
 * Its arguments, as generated: a renamed or missing parameter fails `deno check`. Like every
 * Postgres parameter, each may be null. A `numeric` parameter also takes a decimal string, so an
 * amount never has to pass through a JS number; a `jsonb` one takes any serialisable value.
 */
type Arg<T> = Json extends T ? unknown
  : T extends number | undefined ? T | string | null
  : T | null;
export type RpcArgs<F extends RpcName> = {
  [K in keyof Functions[F]["Args"]]: Arg<Functions[F]["Args"][K]>;
};

/**
 * Calls an RPC and returns its answer parsed by its schema (rpc-results.ts), or throws RpcError
 * (the caller decides what is retryable); an answer of another shape throws RpcResultError.
 */
export async function rpc<F extends RpcName>(fn: F, args: RpcArgs<F>): Promise<RpcResult<F>> {
  const { data, error, status } = await serviceClient().rpc(fn, args as Functions[F]["Args"]);
  if (error) throw new RpcError(fn, error.code, error.message, status);
  return parseResult(fn, data);
}
