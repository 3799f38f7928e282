// The token endpoint's grants: a password sign-in (an aal1 session) and a refresh (rotating
// tokens: a refresh token is good once, the session keeps its assurance level).
import type { Body } from "./body.ts";
import {
  type AuthContext,
  fail,
  issue,
  overLimit,
  type Session,
  type User,
  userById,
} from "./session.ts";

export async function passwordGrant(ctx: AuthContext, body: Body, ip: string) {
  const { sql } = ctx;
  if (typeof body.email !== "string" || typeof body.password !== "string") {
    return fail(400, "validation_failed", "email and password must be strings");
  }
  const email = body.email.trim().toLowerCase();
  const password = body.password;
  if (!email || !password) return fail(400, "validation_failed", "missing email or password");
  const limited = await overLimit(ctx, "sign_in", ip);
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
  return await issue(ctx, user, session);
}

export async function refreshGrant(ctx: AuthContext, body: Body, ip: string) {
  const { sql } = ctx;
  if (typeof body.refresh_token !== "string") {
    return fail(400, "validation_failed", "refresh_token must be a string");
  }
  const limited = await overLimit(ctx, "token_refresh", ip);
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
  const user = session ? await userById(ctx, session.user_id) : null;
  if (!session || !user) {
    return fail(400, "session_not_found", "Invalid Refresh Token: session ended");
  }
  return await issue(ctx, user, session);
}
