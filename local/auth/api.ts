// The Supabase Auth endpoints the console's sign-in uses, answered the way GoTrue answers them, so
// supabase-js runs unmodified against the local stack: password sign-in, refresh (rotating
// tokens), the user, TOTP factors (enrol, challenge, verify: aal2), sign-out. Passwords are bcrypt
// hashes in auth.users.encrypted_password checked with pgcrypto's crypt(), as Supabase stores them.
import { randomBytes } from "node:crypto";
import type postgres from "postgres";
import { type Claims, signJwt, verifyJwt } from "../jwt.ts";
import { bearerToken } from "../gateway/auth.ts";
import { matchingStep, newSecret, otpauthUri } from "./totp.ts";
import { type Body, readAuthBody } from "./body.ts";
import { type Bucket, takeToken } from "./rate-limit.ts";

const ACCESS_TOKEN_SECONDS = 3600;

type Sql = postgres.Sql;
type User = {
  id: string;
  email: string | null;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  email_confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  created_at: Date;
  updated_at: Date;
};
type Session = { id: string; user_id: string; aal: "aal1" | "aal2"; amr: AmrEntry[] };
type AmrEntry = { method: string; timestamp: number };

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });

/** GoTrue's error shape: supabase-js reads error_code and msg. */
const fail = (status: number, code: string, msg: string) =>
  json(status, { code: status, error_code: code, msg });

export function authApi(sql: Sql, jwtSecret: string, issuer: string) {
  async function userJson(u: User) {
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

  async function issue(u: User, s: Session) {
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
      user: await userJson(u),
    });
  }

  /** null when the caller's bucket has a token for this request, else GoTrue's 429. */
  const overLimit = async (bucket: Bucket, ip: string) =>
    await takeToken(sql, bucket, ip)
      ? null
      : fail(429, "over_request_rate_limit", "Request rate limit reached");

  const userById = async (id: string) =>
    (await sql<User[]>`select * from auth.users where id = ${id}`)[0] ?? null;

  /** The session behind an access token (still existing: sign-out ends it). */
  async function caller(req: Request): Promise<{ user: User; session: Session } | Response> {
    const token = bearerToken(req);
    const claims = token ? verifyJwt(token, jwtSecret) : null;
    if (!claims || typeof claims.session_id !== "string" || typeof claims.sub !== "string") {
      return fail(401, "bad_jwt", "invalid JWT: unable to parse or verify signature");
    }
    const [session] = await sql<Session[]>`
      select id, user_id, aal, amr from auth.sessions where id = ${claims.session_id}`;
    const user = session ? await userById(session.user_id) : null;
    if (!session || !user) {
      return fail(403, "session_not_found", "Session from session_id claim in JWT does not exist");
    }
    return { user, session };
  }

  async function passwordGrant(body: Body, ip: string) {
    if (typeof body.email !== "string" || typeof body.password !== "string") {
      return fail(400, "validation_failed", "email and password must be strings");
    }
    const email = body.email.trim().toLowerCase();
    const password = body.password;
    if (!email || !password) return fail(400, "validation_failed", "missing email or password");
    const limited = await overLimit("sign_in", ip);
    if (limited) return limited;
    const [user] = await sql<User[]>`
      select * from auth.users where lower(email) = ${email} and encrypted_password is not null
         and encrypted_password = extensions.crypt(${password}, encrypted_password)`;
    if (!user) return fail(400, "invalid_credentials", "Invalid login credentials");
    const amr = [{ method: "password", timestamp: Math.floor(Date.now() / 1000) }];
    const [session] = await sql<Session[]>`
      insert into auth.sessions (user_id, aal, amr) values (${user.id}, 'aal1', ${sql.json(amr)})
      returning id, user_id, aal, amr`;
    await sql`update auth.users set last_sign_in_at = now() where id = ${user.id}`;
    return await issue(user, session);
  }

  async function refreshGrant(body: Body, ip: string) {
    if (typeof body.refresh_token !== "string") {
      return fail(400, "validation_failed", "refresh_token must be a string");
    }
    const limited = await overLimit("token_refresh", ip);
    if (limited) return limited;
    const token = body.refresh_token;
    // Rotation: a refresh token is good once; the session keeps its assurance level.
    const [used] = await sql<{ session_id: string }[]>`
      update auth.refresh_tokens set revoked = true
       where token = ${token} and not revoked returning session_id`;
    if (!used) {
      return fail(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
    }
    const [session] = await sql<Session[]>`
      select id, user_id, aal, amr from auth.sessions where id = ${used.session_id}`;
    const user = session ? await userById(session.user_id) : null;
    if (!session || !user) {
      return fail(400, "session_not_found", "Invalid Refresh Token: session ended");
    }
    return await issue(user, session);
  }

  async function enroll(req: Request, body: Body) {
    const who = await caller(req);
    if (who instanceof Response) return who;
    if (body.factor_type !== "totp") {
      return fail(422, "mfa_factor_type_invalid", "only totp factors are supported here");
    }
    // As GoTrue: once a verified factor exists, only an aal2 session may add another (else a
    // password alone would enrol an authenticator of its own and pass MFA).
    const [{ verified }] = await sql<{ verified: number }[]>`
      select count(*)::int as verified from auth.mfa_factors
       where user_id = ${who.user.id} and status = 'verified'`;
    if (verified > 0 && who.session.aal !== "aal2") {
      return fail(403, "insufficient_aal", "AAL2 required to enroll a new factor");
    }
    const secret = newSecret();
    const name = typeof body.friendly_name === "string" ? body.friendly_name.slice(0, 100) : null;
    const [f] = await sql<{ id: string }[]>`
      insert into auth.mfa_factors (user_id, friendly_name, secret) values (${who.user.id}, ${name}, ${secret})
      returning id`;
    const uri = otpauthUri(
      secret,
      who.user.email ?? who.user.id,
      String(body.issuer ?? "payout console"),
    );
    return json(200, {
      id: f.id,
      type: "totp",
      friendly_name: name,
      totp: { qr_code: "", secret, uri },
    });
  }

  async function factorOf(userId: string, factorId: string) {
    const [f] = await sql<
      { id: string; secret: string; status: string; last_used_step: string | null }[]
    >`
      select id, secret, status, last_used_step::text from auth.mfa_factors
       where id = ${factorId} and user_id = ${userId}`;
    return f ?? null;
  }

  async function challenge(req: Request, factorId: string) {
    const who = await caller(req);
    if (who instanceof Response) return who;
    if (!(await factorOf(who.user.id, factorId))) {
      return fail(404, "mfa_factor_not_found", "Factor not found");
    }
    const [c] = await sql<{ id: string; created_at: Date }[]>`
      insert into auth.mfa_challenges (factor_id) values (${factorId}) returning id, created_at`;
    return json(200, {
      id: c.id,
      type: "totp",
      expires_at: Math.floor(c.created_at.getTime() / 1000) + 300,
    });
  }

  async function verify(req: Request, factorId: string, body: Body, ip: string) {
    const who = await caller(req);
    if (who instanceof Response) return who;
    const factor = await factorOf(who.user.id, factorId);
    if (!factor) return fail(404, "mfa_factor_not_found", "Factor not found");
    const limited = await overLimit("verify", ip);
    if (limited) return limited;
    const challengeId = String(body.challenge_id ?? "");
    if (!/^[0-9a-f-]{36}$/i.test(challengeId)) {
      return fail(422, "mfa_challenge_expired", "Challenge not found, already verified or expired");
    }
    const step = matchingStep(factor.secret, String(body.code ?? ""));
    // One transaction: the challenge is used, the code's step is accepted once (a code whose
    // step is not after the last accepted one is a replay, also between concurrent requests), and
    // the session becomes aal2 with new tokens only: its aal1 refresh tokens and the user's other
    // aal1 sessions end here, as GoTrue ends them.
    const issued = await sql.begin(async (tx) => {
      const [ch] = await tx<{ id: string }[]>`
        update auth.mfa_challenges set verified_at = now()
         where id = ${challengeId}::uuid and factor_id = ${factor.id}
           and verified_at is null and created_at > now() - interval '5 minutes'
        returning id`;
      if (!ch) return "challenge" as const;
      if (step === null) return "code" as const;
      const [accepted] = await tx<{ id: string }[]>`
        update auth.mfa_factors set last_used_step = ${step.toString()}::bigint, status = 'verified',
               updated_at = now()
         where id = ${factor.id} and (last_used_step is null or last_used_step < ${step.toString()}::bigint)
        returning id`;
      if (!accepted) return "code" as const;
      const amr = [...who.session.amr, {
        method: "totp",
        timestamp: Math.floor(Date.now() / 1000),
      }];
      const [session] = await tx<Session[]>`
        update auth.sessions set aal = 'aal2', amr = ${tx.json(amr)}, updated_at = now()
         where id = ${who.session.id} returning id, user_id, aal, amr`;
      await tx`update auth.refresh_tokens set revoked = true
                where session_id = ${session.id} and not revoked`;
      await tx`delete from auth.sessions
                where user_id = ${who.user.id} and aal = 'aal1' and id <> ${session.id}`;
      return session;
    });
    if (issued === "challenge") {
      return fail(422, "mfa_challenge_expired", "Challenge not found, already verified or expired");
    }
    if (issued === "code") return fail(422, "mfa_verification_failed", "Invalid TOTP code entered");
    return await issue(who.user, issued);
  }

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
      if (grant === "password") return await passwordGrant(body, ip);
      if (grant === "refresh_token") return await refreshGrant(body, ip);
      return fail(400, "validation_failed", "unsupported grant_type");
    }
    if (path === "user" && req.method === "GET") {
      const who = await caller(req);
      return who instanceof Response ? who : json(200, await userJson(who.user));
    }
    if (path === "logout" && req.method === "POST") {
      const who = await caller(req);
      if (who instanceof Response) return who;
      await sql`delete from auth.sessions where id = ${who.session.id}`;
      return new Response(null, { status: 204 });
    }
    if (path === "factors" && req.method === "POST") return await enroll(req, body);
    const m = /^factors\/([0-9a-f-]{36})\/(challenge|verify)$/.exec(path);
    if (m && req.method === "POST") {
      return m[2] === "challenge" ? await challenge(req, m[1]) : await verify(req, m[1], body, ip);
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
