// Sessions and tokens of the local Auth endpoints, as GoTrue issues them: the user's JSON, an
// access token (JWT) with a rotating refresh token, the session behind a bearer token, and the
// rate limits. Every endpoint module takes the same context.
import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import { type Claims, signJwt, verifyJwt } from "../jwt.ts";
import { bearerToken } from "../gateway/auth.ts";
import { type Bucket, takeToken } from "./rate-limit.ts";

const ACCESS_TOKEN_SECONDS = 3600;

export type AuthContext = { sql: postgres.Sql; jwtSecret: string; issuer: string };
export type User = {
  id: string;
  email: string | null;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  email_confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  created_at: Date;
  updated_at: Date;
};
export type Session = { id: string; user_id: string; aal: "aal1" | "aal2"; amr: AmrEntry[] };
type AmrEntry = { method: string; timestamp: number };

export const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });

/** GoTrue's error shape: supabase-js reads error_code and msg. */
export const fail = (status: number, code: string, msg: string) =>
  json(status, { code: status, error_code: code, msg });

export async function userJson({ sql }: AuthContext, u: User) {
  const factors = await sql<
    {
      id: string;
      friendly_name: string | null;
      status: string;
      created_at: Date;
      updated_at: Date;
    }[]
  >`select id, friendly_name, status, created_at, updated_at from auth.mfa_factors
     where user_id = ${u.id} order by created_at`;
  return {
    id: u.id,
    aud: "authenticated",
    role: "authenticated",
    email: u.email,
    email_confirmed_at: u.email_confirmed_at,
    phone: "",
    confirmed_at: u.email_confirmed_at,
    last_sign_in_at: u.last_sign_in_at,
    app_metadata: u.raw_app_meta_data,
    user_metadata: u.raw_user_meta_data,
    identities: [],
    created_at: u.created_at,
    updated_at: u.updated_at,
    is_anonymous: false,
    factors: factors.map((f) => ({ ...f, factor_type: "totp" })),
  };
}

export async function issue(ctx: AuthContext, u: User, s: Session) {
  const { sql, jwtSecret, issuer } = ctx;
  const now = Math.floor(Date.now() / 1000);
  const claims: Claims = {
    aud: "authenticated",
    iss: issuer,
    sub: u.id,
    email: u.email,
    phone: "",
    role: "authenticated",
    aal: s.aal,
    amr: s.amr,
    session_id: s.id,
    app_metadata: u.raw_app_meta_data,
    user_metadata: u.raw_user_meta_data,
    is_anonymous: false,
    iat: now,
    exp: now + ACCESS_TOKEN_SECONDS,
  };
  const refresh = randomBytes(24).toString("base64url");
  await sql`insert into auth.refresh_tokens (token, session_id) values (${refresh}, ${s.id})`;
  return json(200, {
    access_token: signJwt(claims, jwtSecret),
    token_type: "bearer",
    expires_in: ACCESS_TOKEN_SECONDS,
    expires_at: now + ACCESS_TOKEN_SECONDS,
    refresh_token: refresh,
    user: await userJson(ctx, u),
  });
}

/** null when the caller's bucket has a token for this request, else GoTrue's 429. */
export const overLimit = async ({ sql }: AuthContext, bucket: Bucket, ip: string) =>
  await takeToken(sql, bucket, ip)
    ? null
    : fail(429, "over_request_rate_limit", "Request rate limit reached");

export const userById = async ({ sql }: AuthContext, id: string) =>
  (await sql<User[]>`select * from auth.users where id = ${id}`)[0] ?? null;

/** The session behind an access token (still existing: sign-out ends it). */
export async function caller(
  ctx: AuthContext,
  req: Request,
): Promise<{ user: User; session: Session } | Response> {
  const { sql, jwtSecret } = ctx;
  const token = bearerToken(req);
  const claims = token ? verifyJwt(token, jwtSecret) : null;
  if (!claims || typeof claims.session_id !== "string" || typeof claims.sub !== "string") {
    return fail(401, "bad_jwt", "invalid JWT: unable to parse or verify signature");
  }
  const [session] = await sql<Session[]>`
    select id, user_id, aal, amr from auth.sessions where id = ${claims.session_id}`;
  const user = session ? await userById(ctx, session.user_id) : null;
  if (!session || !user) {
    return fail(403, "session_not_found", "Session from session_id claim in JWT does not exist");
  }
  return { user, session };
}
