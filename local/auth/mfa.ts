// TOTP factors as GoTrue serves them: enrol, challenge, verify (the session becomes aal2).
import type { Body } from "./body.ts";
import { matchingStep, newSecret, otpauthUri } from "./totp.ts";
import { type AuthContext, caller, fail, issue, json, overLimit, type Session } from "./session.ts";

export async function enroll(ctx: AuthContext, req: Request, body: Body) {
  const { sql } = ctx;
  const who = await caller(ctx, req);
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

async function factorOf({ sql }: AuthContext, userId: string, factorId: string) {
  const [f] = await sql<
    { id: string; secret: string; status: string; last_used_step: string | null }[]
  >`
    select id, secret, status, last_used_step::text from auth.mfa_factors
     where id = ${factorId} and user_id = ${userId}`;
  return f ?? null;
}

export async function challenge(ctx: AuthContext, req: Request, factorId: string) {
  const { sql } = ctx;
  const who = await caller(ctx, req);
  if (who instanceof Response) return who;
  if (!(await factorOf(ctx, who.user.id, factorId))) {
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

export async function verify(
  ctx: AuthContext,
  req: Request,
  factorId: string,
  body: Body,
  ip: string,
) {
  const { sql } = ctx;
  const who = await caller(ctx, req);
  if (who instanceof Response) return who;
  const factor = await factorOf(ctx, who.user.id, factorId);
  if (!factor) return fail(404, "mfa_factor_not_found", "Factor not found");
  const limited = await overLimit(ctx, "verify", ip);
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
  return await issue(ctx, who.user, issued);
}
