// The Supabase Auth endpoints the console's sign-in uses, answered the way GoTrue answers them, so
// supabase-js runs unmodified against the local stack: password sign-in, refresh (rotating
// tokens), the user, TOTP factors (enrol, challenge, verify: aal2), sign-out. Passwords are bcrypt
// hashes in auth.users.encrypted_password checked with pgcrypto's crypt(), as Supabase stores them.
// The endpoints live in session.ts, grants.ts and mfa.ts; this file routes to them.
import type postgres from "postgres";
import { readAuthBody } from "./body.ts";
import { passwordGrant, refreshGrant } from "./grants.ts";
import { challenge, enroll, verify } from "./mfa.ts";
import { type AuthContext, caller, fail, json, userJson } from "./session.ts";

type Sql = postgres.Sql;

export function authApi(sql: Sql, jwtSecret: string, issuer: string) {
  const ctx: AuthContext = { sql, jwtSecret, issuer };
  return async function handle(
    req: Request,
    path: string,
    url: URL,
    ip: string,
  ): Promise<Response> {
    const read = await readAuthBody(req);
    if (!read.ok) return fail(400, read.code, read.msg);
    const body = read.body;
    if (path === "token" && req.method === "POST") {
      const grant = url.searchParams.get("grant_type");
      if (grant === "password") return await passwordGrant(ctx, body, ip);
      if (grant === "refresh_token") return await refreshGrant(ctx, body, ip);
      return fail(400, "validation_failed", "unsupported grant_type");
    }
    if (path === "user" && req.method === "GET") {
      const who = await caller(ctx, req);
      return who instanceof Response ? who : json(200, await userJson(ctx, who.user));
    }
    if (path === "logout" && req.method === "POST") {
      const who = await caller(ctx, req);
      if (who instanceof Response) return who;
      await sql`delete from auth.sessions where id = ${who.session.id}`;
      return new Response(null, { status: 204 });
    }
    if (path === "factors" && req.method === "POST") return await enroll(ctx, req, body);
    const m = /^factors\/([0-9a-f-]{36})\/(challenge|verify)$/.exec(path);
    if (m && req.method === "POST") {
      return m[2] === "challenge"
        ? await challenge(ctx, req, m[1])
        : await verify(ctx, req, m[1], body, ip);
    }
    if (path === "health" || path === "settings") {
      return json(200, { name: "local auth", external: { email: true }, mfa_enabled: true });
    }
    return fail(404, "not_found", `no auth endpoint ${req.method} /auth/v1/${path}`);
  };
}

/** Creates (or updates) a user with a bcrypt password and, given a secret, a verified TOTP factor. */
export async function ensureUser(
  sql: Sql,
  opts: {
    email: string;
    password: string;
    appMetadata?: Record<string, unknown>;
    totpSecret?: string;
  },
): Promise<string> {
  const [u] = await sql<{ id: string }[]>`
    insert into auth.users (email, encrypted_password, email_confirmed_at, raw_app_meta_data)
    values (${opts.email}, extensions.crypt(${opts.password}, extensions.gen_salt('bf', 10)), now(),
            ${sql.json((opts.appMetadata ?? {}) as postgres.JSONValue)})
    on conflict (email) do update
       set encrypted_password = excluded.encrypted_password, raw_app_meta_data = excluded.raw_app_meta_data
    returning id`;
  if (opts.totpSecret) {
    await sql`
      insert into auth.mfa_factors (user_id, friendly_name, status, secret)
      select ${u.id}, 'authenticator', 'verified', ${opts.totpSecret}
       where not exists (select 1 from auth.mfa_factors where user_id = ${u.id} and secret = ${opts.totpSecret})`;
  }
  return u.id;
}
