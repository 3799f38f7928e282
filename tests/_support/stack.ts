// Access to the running test stack (started by `npm test`, or point STACK_JSON at `npm start`'s).
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { signJwt } from "../../local/jwt.ts";
import type { StackInfo } from "../../local/stack.ts";
import type { Database } from "../../supabase/functions/_shared/database.types.ts";

export type { StackInfo };

const path = Deno.env.get("STACK_JSON") ??
  new URL("../../.local/stack.json", import.meta.url).pathname;
export const stack: StackInfo = JSON.parse(Deno.readTextFileSync(path));

/** A superuser connection for arranging and inspecting state. Close it at the end of a test. */
export function db(max = 4) {
  return postgres(stack.db_url, { max, onnotice: () => {} });
}

export function userJwt(sub: string, opts: { admin?: boolean; aal?: "aal1" | "aal2" } = {}) {
  return signJwt({
    sub,
    role: "authenticated",
    aal: opts.aal ?? "aal1",
    app_metadata: opts.admin ? { role: "admin" } : {},
    exp: Math.floor(Date.now() / 1000) + 3600,
  }, stack.jwt_secret);
}

const clientOptions = (jwt?: string) => ({
  auth: { persistSession: false, autoRefreshToken: false },
  global: jwt ? { headers: { Authorization: `Bearer ${jwt}` } } : {},
});

/** supabase-js pointed at the gateway, as the dashboard would use it, typed by the generated types. */
export function client(jwt?: string) {
  return createClient<Database>(stack.api_url, stack.anon_key, clientOptions(jwt));
}

/** The same without the generated types: for test-only probe functions and calls by any name. */
export function untypedClient(jwt?: string) {
  return createClient(stack.api_url, stack.anon_key, clientOptions(jwt));
}

export async function rpcHttp(fn: string, body: unknown, jwt?: string) {
  // A 503 means the database was unavailable (a chaos run restarts it): retry as a client would.
  for (let attempt = 1;; attempt++) {
    const res = await fetch(`${stack.api_url}/rest/v1/rpc/${fn}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        apikey: stack.anon_key,
        ...(jwt ? { authorization: `Bearer ${jwt}` } : {}),
      },
      body: JSON.stringify(body),
    });
    if (res.status === 503 && attempt < 5) {
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 100 * attempt));
      continue;
    }
    return { status: res.status, body: await res.json() };
  }
}
