// The local Supabase Auth endpoints through supabase-js, unmodified, on the real stack: password
// sign-in (bcrypt in auth.users), TOTP (RFC 6238, a window of one step), aal2 for admin mutations,
// a replayed code and a wrong one refused, lockout after repeated failures, rotating refresh
// tokens that keep the session's level, sign-out ending the session.
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

Deno.test("five wrong passwords lock the account's sign-in (429), even for the right one", async () => {
  const who = await newAdmin();
  const client = anon();
  for (let i = 0; i < 5; i++) {
    const r = await client.auth.signInWithPassword({ email: who.email, password: `wrong-${i}` });
    assert.equal(r.error?.status, 400);
  }
  const locked = await client.auth.signInWithPassword({ email: who.email, password: who.password });
  assert.equal(locked.error?.status, 429);
  assert.equal(locked.error?.code, "over_request_rate_limit");
});

Deno.test("five wrong codes lock the factor (429)", async () => {
  const who = await newAdmin();
  const client = anon();
  await client.auth.signInWithPassword({ email: who.email, password: who.password });
  const right = codeAt(who.secret, stepAt(Date.now()));
  const wrong = right === "123456" ? "654321" : "123456";
  for (let i = 0; i < 5; i++) {
    assert.equal((await verify(client, wrong)).error?.code, "mfa_verification_failed");
  }
  const locked = await verify(client, right);
  assert.equal(locked.error?.status, 429);
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
