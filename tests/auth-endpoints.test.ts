// The local Supabase Auth endpoints through supabase-js, unmodified, on the real stack: password
// sign-in (bcrypt in auth.users), TOTP (RFC 6238, a window of one step), aal2 for admin mutations,
// a replayed code and a wrong one refused, rate limits per client IP (token buckets, atomic under
// concurrency), enrolment needing aal2 once a factor is verified, verify ending aal1 tokens,
// malformed bodies, rotating refresh tokens that keep the session's level, sign-out.
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { ensureUser } from "../local/auth/api.ts";
import { codeAt, newSecret, stepAt } from "../local/auth/totp.ts";
import { db, stack } from "./_support/stack.ts";

const sql = db();
const anon = () =>
  createClient(stack.api_url, stack.anon_key, {
    auth: { persistSession: false, autoRefreshToken: false },
  });

async function newAdmin(opts: { totp?: boolean; admin?: boolean } = {}) {
  const email = `auth-${crypto.randomUUID()}@test.io`;
  const password = `pw-${crypto.randomUUID()}`;
  const secret = newSecret();
  await ensureUser(sql, {
    email,
    password,
    appMetadata: opts.admin === false ? {} : { role: "admin" },
    totpSecret: opts.totp === false ? undefined : secret,
  });
  return { email, password, secret };
}

async function verify(client: ReturnType<typeof anon>, code: string) {
  const factors = await client.auth.mfa.listFactors();
  assert.equal(factors.error, null);
  const factorId = factors.data!.totp[0].id;
  const ch = await client.auth.mfa.challenge({ factorId });
  assert.equal(ch.error, null, JSON.stringify(ch.error));
  return await client.auth.mfa.verify({ factorId, challengeId: ch.data!.id, code });
}

Deno.test("the seed admin of stack.json signs in with its password and TOTP code", async () => {
  const client = anon();
  const r = await client.auth.signInWithPassword({
    email: stack.admin_email,
    password: stack.admin_password,
  });
  assert.equal(r.error, null, JSON.stringify(r.error));
  const v = await verify(client, codeAt(stack.admin_totp_secret, stepAt(Date.now())));
  assert.equal(v.error, null, JSON.stringify(v.error));
  const level = await client.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(level.data?.currentLevel, "aal2");
});

Deno.test("password then TOTP gives aal2; an admin mutation needs it", async () => {
  const who = await newAdmin();
  const client = anon();
  const wrong = await client.auth.signInWithPassword({ email: who.email, password: "nope" });
  assert.equal(wrong.error?.status, 400);
  assert.equal(wrong.error?.code, "invalid_credentials");

  const r = await client.auth.signInWithPassword({ email: who.email, password: who.password });
  assert.equal(r.error, null);
  const before = await client.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.deepEqual([before.data?.currentLevel, before.data?.nextLevel], ["aal1", "aal2"]);
  const refused = await client.rpc("admin_set_chain_policy", {
    p_chain_id: 90002,
    p_min_confirmations: 2,
  });
  assert.equal(refused.error?.code, "42501", "aal1 cannot change anything");
  const read = await client.rpc("admin_token_alerts", {});
  assert.equal(read.error, null, "but reads");

  const code = codeAt(who.secret, stepAt(Date.now()));
  const v = await verify(client, code);
  assert.equal(v.error, null, JSON.stringify(v.error));
  const after = await client.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(after.data?.currentLevel, "aal2");
  const ok = await client.rpc("admin_set_chain_policy", {
    p_chain_id: 90002,
    p_min_confirmations: 2,
  });
  assert.equal(ok.error, null, JSON.stringify(ok.error));

  // The same code again (a new challenge): a replay, refused.
  const replay = await verify(client, code);
  assert.equal(replay.error?.code, "mfa_verification_failed");
  const bad = await verify(client, "000000" === code ? "111111" : "000000");
  assert.equal(bad.error?.code, "mfa_verification_failed");
});

Deno.test("the window: the previous step's code works, one two steps old does not", async () => {
  const who = await newAdmin();
  const client = anon();
  await client.auth.signInWithPassword({ email: who.email, password: who.password });
  const now = stepAt(Date.now());
  const old = await verify(client, codeAt(who.secret, now - 3n));
  assert.equal(old.error?.code, "mfa_verification_failed");
  const prev = await verify(client, codeAt(who.secret, now - 1n));
  assert.equal(prev.error, null, JSON.stringify(prev.error));
});

/** Empties the rate-limit buckets: each test below starts with full ones and leaves them so. */
const refillBuckets = () => sql`delete from auth.local_rate_buckets`;

async function authPost(path: string, body: unknown, token?: string) {
  const res = await fetch(`${stack.api_url}/auth/v1/${path}`, {
    method: "POST",
    headers: {
      apikey: stack.anon_key,
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

Deno.test("40 concurrent wrong passwords: 30 checked (the bucket), the rest 429, and the right one after them refused", async () => {
  await refillBuckets();
  try {
    const who = await newAdmin();
    const attempts = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          authPost("token?grant_type=password", { email: who.email, password: `wrong-${i}` }),
      ),
    );
    const statuses = attempts.map((a) => a.status);
    assert.equal(statuses.filter((s) => s === 400).length, 30, "exactly the bucket's 30 checked");
    assert.equal(statuses.filter((s) => s === 429).length, 10);
    const right = await authPost("token?grant_type=password", {
      email: who.email,
      password: who.password,
    });
    assert.equal(right.status, 429, "over the limit, even the right password waits");
    assert.equal(right.body.error_code, "over_request_rate_limit");
    // The limit is the caller's (per IP, as Supabase Auth), not the account's: nobody can keep an
    // account locked from elsewhere. Here every caller is 127.0.0.1, so refill to show the account
    // itself was never locked.
    await refillBuckets();
    const after = await authPost("token?grant_type=password", {
      email: who.email,
      password: who.password,
    });
    assert.equal(after.status, 200, "the account was never locked");
  } finally {
    await refillBuckets();
  }
});

Deno.test("60 concurrent TOTP guesses: 30 checked, the rest 429; a replayed code is refused even concurrently", async () => {
  await refillBuckets();
  try {
    const who = await newAdmin();
    const client = anon();
    await client.auth.signInWithPassword({ email: who.email, password: who.password });
    const token = (await client.auth.getSession()).data.session!.access_token;
    const factorId = (await client.auth.mfa.listFactors()).data!.totp[0].id;
    const right = codeAt(who.secret, stepAt(Date.now()));
    const wrong = right === "123456" ? "654321" : "123456";
    const guesses = await Promise.all(Array.from({ length: 60 }, async () => {
      const ch = await authPost(`factors/${factorId}/challenge`, {}, token);
      return await authPost(
        `factors/${factorId}/verify`,
        { challenge_id: ch.body.id, code: wrong },
        token,
      );
    }));
    const statuses = guesses.map((g) => g.status);
    assert.equal(statuses.filter((s) => s === 422).length, 30, "exactly the bucket's 30 checked");
    assert.equal(statuses.filter((s) => s === 429).length, 30);
    await refillBuckets();
    // The right code twice at once: one aal2 session, the other a replay.
    const both = await Promise.all([0, 1].map(async () => {
      const ch = await authPost(`factors/${factorId}/challenge`, {}, token);
      return await authPost(
        `factors/${factorId}/verify`,
        { challenge_id: ch.body.id, code: right },
        token,
      );
    }));
    assert.deepEqual(both.map((b) => b.status).sort(), [200, 422]);
  } finally {
    await refillBuckets();
  }
});

Deno.test("MFA cannot be bypassed: an aal1 session of a user with a verified factor cannot enrol another (403 insufficient_aal)", async () => {
  const who = await newAdmin();
  const client = anon();
  await client.auth.signInWithPassword({ email: who.email, password: who.password });
  const enrolled = await client.auth.mfa.enroll({ factorType: "totp" });
  assert.equal(enrolled.error?.status, 403);
  assert.equal(enrolled.error?.code, "insufficient_aal");
  const [{ n }] = await sql`select count(*)::int as n from auth.mfa_factors f
    join auth.users u on u.id = f.user_id where u.email = ${who.email}`;
  assert.equal(n, 1, "no second factor was created");
  // At aal2 a second authenticator may be added, as Supabase Auth allows.
  await verify(client, codeAt(who.secret, stepAt(Date.now())));
  assert.equal((await client.auth.mfa.enroll({ factorType: "totp" })).error, null);
});

Deno.test("verify ends the password step's refresh token and the user's other aal1 sessions", async () => {
  await refillBuckets();
  const who = await newAdmin();
  const client = anon();
  const signedIn = await client.auth.signInWithPassword({
    email: who.email,
    password: who.password,
  });
  const aal1Refresh = signedIn.data.session!.refresh_token;
  const elsewhere = anon();
  const other = await elsewhere.auth.signInWithPassword({
    email: who.email,
    password: who.password,
  });
  assert.equal((await verify(client, codeAt(who.secret, stepAt(Date.now())))).error, null);
  const replayed = await authPost("token?grant_type=refresh_token", { refresh_token: aal1Refresh });
  assert.equal(replayed.status, 400, "the aal1 refresh token no longer mints anything");
  assert.equal(replayed.body.error_code, "refresh_token_not_found");
  const stale = await authPost("token?grant_type=refresh_token", {
    refresh_token: other.data.session!.refresh_token,
  });
  assert.equal(stale.status, 400, "another aal1 session of the user ended at verify");
  assert.equal((await client.auth.refreshSession()).error, null, "the aal2 session refreshes");
});

Deno.test("malformed Auth bodies are 400 with GoTrue's codes, never 500", async () => {
  await refillBuckets();
  const cases: [string, string | unknown, string][] = [
    ["token?grant_type=password", "null", "bad_json"],
    ["token?grant_type=password", "[1]", "bad_json"],
    ["token?grant_type=password", "{not json", "bad_json"],
    [
      "token?grant_type=password",
      { email: "a\u0000b@test.io", password: "x" },
      "validation_failed",
    ],
    [
      "token?grant_type=password",
      { email: "a@test.io", password: "p\u0000w" },
      "validation_failed",
    ],
    ["token?grant_type=password", { email: 5, password: true }, "validation_failed"],
    ["token?grant_type=refresh_token", { refresh_token: "r\u0000" }, "validation_failed"],
    ["token?grant_type=refresh_token", { refresh_token: 7 }, "validation_failed"],
  ];
  for (const [path, body, code] of cases) {
    const raw = typeof body === "string" ? body : JSON.stringify(body); // NUL goes out as \u0000
    const r = await authPost(path, raw);
    assert.equal(r.status, 400, `${path} ${raw}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error_code, code, raw);
  }
});

Deno.test("refresh rotates the token and keeps aal2; an old refresh token is refused; sign-out ends the session", async () => {
  const who = await newAdmin();
  const client = anon();
  await client.auth.signInWithPassword({ email: who.email, password: who.password });
  await verify(client, codeAt(who.secret, stepAt(Date.now())));
  const first = (await client.auth.getSession()).data.session!;
  const refreshed = await client.auth.refreshSession();
  assert.equal(refreshed.error, null, JSON.stringify(refreshed.error));
  assert.notEqual(refreshed.data.session!.refresh_token, first.refresh_token);
  const level = await client.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.equal(level.data?.currentLevel, "aal2", "the refreshed session keeps its level");
  const other = anon();
  const reused = await other.auth.refreshSession({ refresh_token: first.refresh_token });
  assert.ok(reused.error, "a used refresh token is refused");

  await client.auth.signOut();
  const res = await fetch(`${stack.api_url}/auth/v1/user`, {
    headers: {
      authorization: `Bearer ${refreshed.data.session!.access_token}`,
      apikey: stack.anon_key,
    },
  });
  assert.equal(res.status, 403, "the session is gone");
  await res.body?.cancel();
});

Deno.test("an admin without an authenticator enrols one: its first code verifies it and gives aal2", async () => {
  const who = await newAdmin({ totp: false });
  const client = anon();
  await client.auth.signInWithPassword({ email: who.email, password: who.password });
  const before = await client.auth.mfa.getAuthenticatorAssuranceLevel();
  assert.deepEqual([before.data?.currentLevel, before.data?.nextLevel], ["aal1", "aal1"]);
  const enrolled = await client.auth.mfa.enroll({ factorType: "totp", friendlyName: "phone" });
  assert.equal(enrolled.error, null, JSON.stringify(enrolled.error));
  assert.match(enrolled.data!.totp.uri, /^otpauth:\/\/totp\//);
  const ch = await client.auth.mfa.challenge({ factorId: enrolled.data!.id });
  const v = await client.auth.mfa.verify({
    factorId: enrolled.data!.id,
    challengeId: ch.data!.id,
    code: codeAt(enrolled.data!.totp.secret, stepAt(Date.now())),
  });
  assert.equal(v.error, null, JSON.stringify(v.error));
  const factors = await client.auth.mfa.listFactors();
  assert.equal(factors.data?.totp.length, 1, "the factor is verified");
  assert.equal((await client.auth.mfa.getAuthenticatorAssuranceLevel()).data?.currentLevel, "aal2");
});

Deno.test("a non-admin signs in but reads nothing of the dashboard", async () => {
  const who = await newAdmin({ admin: false, totp: false });
  const client = anon();
  const r = await client.auth.signInWithPassword({ email: who.email, password: who.password });
  assert.equal(r.error, null);
  const read = await client.rpc("admin_token_alerts", {});
  assert.equal(read.error?.code, "42501");
  await sql.end();
});
