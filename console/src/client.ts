/// <reference lib="dom" />
// The console's one Supabase client: the project's URL and anon key come from config.js (public
// values), the session from Supabase Auth (password, then TOTP for aal2). Typed with the generated
// database types, so a renamed RPC or parameter fails `deno check`.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";

declare global {
  // Set by config.js, which the build writes next to the page.
  var PAYOUT_CONSOLE: { url: string; anonKey: string };
}

export type Client = SupabaseClient<Database>;

export function makeClient(): Client {
  const { url, anonKey } = globalThis.PAYOUT_CONSOLE;
  return createClient<Database>(url, anonKey, {
    auth: { persistSession: true, autoRefreshToken: true },
  });
}
