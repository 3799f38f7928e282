// The gateway against the real stack: PostgREST's role switching, error mapping, supabase-js, and
// the net.http_post queue delivered only after commit.
import assert from "node:assert/strict";
import fc from "fast-check";
import { literal } from "../local/gateway/transaction.ts";
import { signJwt } from "../local/jwt.ts";
import { client, db, rpcHttp, stack, untypedClient, userJwt } from "./_support/stack.ts";

const sql = db();
await sql.unsafe(`
  create or replace function public.zz_whoami() returns jsonb language sql
    as $$ select jsonb_build_object('role', current_user, 'claims', auth.jwt(), 'uid', auth.uid()) $$;
  create or replace function public.zz_raise(p_code text) returns void language plpgsql
    as $$ begin raise exception 'boom %', p_code using errcode = p_code, hint = 'a hint'; end $$;
  create or replace function public.zz_echo(p_n numeric, p_j jsonb, p_t text default 'd') returns jsonb
    language sql as $$ select jsonb_build_object('n', p_n, 'j', p_j, 't', p_t) $$;
  grant execute on function public.zz_whoami(), public.zz_raise(text), public.zz_echo(numeric, jsonb, text)
    to anon, authenticated, service_role;`);

Deno.test("health is callable by anon through the gateway", async () => {
  const r = await rpcHttp("health", {});
  assert.equal(r.status, 200);
  assert.equal(r.body.ok, true);
});

Deno.test("an unknown RPC is 404 PGRST202", async () => {
  const r = await rpcHttp("no_such_function", {});
  assert.equal(r.status, 404);
  assert.equal(r.body.code, "PGRST202");
});

Deno.test("unknown argument names are 404 PGRST202, as PostgREST resolves by name", async () => {
  const r = await rpcHttp("zz_echo", { p_n: 1, p_j: {}, p_nope: 1 });
  assert.equal(r.status, 404);
  assert.equal(r.body.code, "PGRST202");
});

Deno.test("a JWT signed with another secret is 401 PGRST301", async () => {
  const forged = signJwt({ role: "service_role" }, "not-the-stack-secret-not-the-stack-secret");
  const r = await rpcHttp("health", {}, forged);
  assert.equal(r.status, 401);
  assert.equal(r.body.code, "PGRST301");
});

Deno.test("an expired JWT is 401", async () => {
  const expired = signJwt(
    { role: "authenticated", sub: crypto.randomUUID(), exp: 1 },
    stack.jwt_secret,
  );
  assert.equal((await rpcHttp("health", {}, expired)).status, 401);
});

Deno.test("the JWT picks the role and its claims reach request.jwt.claims", async () => {
  const sub = crypto.randomUUID();
  const r = await rpcHttp("zz_whoami", {}, userJwt(sub, { admin: true, aal: "aal2" }));
  assert.equal(r.status, 200);
  assert.equal(r.body.role, "authenticated");
  assert.equal(r.body.uid, sub);
  assert.equal(r.body.claims.aal, "aal2");
  assert.equal(r.body.claims.app_metadata.role, "admin");
  assert.equal((await rpcHttp("zz_whoami", {})).body.role, "anon");
  assert.equal((await rpcHttp("zz_whoami", {}, stack.service_role_key)).body.role, "service_role");
});

Deno.test("named arguments keep their types, and defaults apply", async () => {
  const r = await rpcHttp("zz_echo", { p_n: "12345678901234567890.12", p_j: { a: [1] } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { n: 12345678901234567890.12, j: { a: [1] }, t: "d" });
});

for (
  const [code, anonStatus, userStatus] of [
    ["PT400", 400, 400],
    ["PT404", 404, 404],
    ["PT409", 409, 409],
    ["42501", 401, 403],
    ["23505", 409, 409],
    ["P0001", 400, 400],
  ] as const
) {
  Deno.test(`SQLSTATE ${code} maps to HTTP ${anonStatus} (anon) / ${userStatus} (user)`, async () => {
    const a = await rpcHttp("zz_raise", { p_code: code });
    assert.equal(a.status, anonStatus);
    assert.equal(a.body.code, code);
    assert.equal(a.body.hint, "a hint");
    assert.match(a.body.message, /boom/);
    const u = await rpcHttp("zz_raise", { p_code: code }, userJwt(crypto.randomUUID()));
    assert.equal(u.status, userStatus);
  });
}

Deno.test("supabase-js .rpc() works unmodified against the gateway", async () => {
  const { data, error } = await client().rpc("health");
  assert.equal(error, null);
  assert.equal((data as { ok: boolean }).ok, true);
  const bad = await untypedClient(userJwt(crypto.randomUUID())).rpc("zz_raise", {
    p_code: "PT409",
  });
  assert.equal(bad.error?.code, "PT409");
});

Deno.test("supabase-js .functions.invoke() reaches the edge functions through the gateway", async () => {
  const { data, error } = await client(stack.service_role_key).functions.invoke(
    "distribute-tokens",
    {
      body: { limit: 1 },
    },
  );
  assert.equal(error, null);
  assert.equal(typeof data.claimed, "number");
  const denied = await client(userJwt(crypto.randomUUID())).functions.invoke("distribute-tokens", {
    body: {},
  });
  assert.ok(denied.error, "a plain user is refused");
});

Deno.test("net.http_post is delivered after commit and never after rollback", async () => {
  const seen: string[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    seen.push((await req.json()).tag);
    return new Response("ok");
  });
  const url = `http://127.0.0.1:${server.addr.port}/hook`;
  try {
    const rolled = crypto.randomUUID();
    await sql.begin(async (tx) => {
      await tx`select net.http_post(${url}, ${tx.json({ tag: rolled })})`;
      await tx`select 1/0`; // the transaction fails: its request must never leave
    }).catch(() => {});
    const committed = crypto.randomUUID();
    const [{ id }] = await sql.begin((tx) =>
      tx`select net.http_post(${url}, ${tx.json({ tag: committed })}) as id`
    );
    const deadline = Date.now() + 8000;
    while (!seen.includes(committed) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(seen.includes(committed), "the committed request arrives");
    await new Promise((r) => setTimeout(r, 1500)); // past a drainer poll
    assert.ok(!seen.includes(rolled), "the rolled-back request never arrives");
    const [resp] = await sql`select status_code from net._http_response where id = ${id}`;
    assert.equal(resp.status_code, 200);
  } finally {
    await server.shutdown();
  }
});

Deno.test("protected functions need a JWT at the gateway (verify_jwt)", async () => {
  const r = await fetch(`${stack.api_url}/functions/v1/distribute-tokens`, {
    method: "POST",
    body: "{}",
  });
  assert.equal(r.status, 401);
  await r.body?.cancel();
  const u = await fetch(`${stack.api_url}/functions/v1/distribute-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${userJwt(crypto.randomUUID())}` },
    body: "{}",
  });
  assert.equal(u.status, 403, "a plain user is not the service or an MFA admin");
  await u.body?.cancel();
});

// The gateway sends each request as one message of literals (local/gateway/transaction.ts): no
// text may escape its literal or come back changed.
const nasty = fc.constantFrom(
  "'",
  "\\",
  "\\'",
  "''",
  "E'\\'",
  "$$",
  "$1",
  "'); drop table app.settings; --",
  "\\x41\\n\\u0041",
  "\u00e9\u{1f600}\u200b",
  ";\nselect 1;",
);
const text = fc.oneof(
  nasty,
  fc.string({ unit: "grapheme" }),
  fc.array(fc.oneof(nasty, fc.string({ unit: "grapheme" })), { maxLength: 4 }).map((x) =>
    x.join("")
  ),
);

Deno.test("literal(): any text reads back from Postgres exactly as it was", async () => {
  await fc.assert(
    fc.asyncProperty(text, async (s) => {
      const [{ v }] = await sql.unsafe(`select ${literal(s)}::text as v`);
      assert.equal(v, s);
    }),
    { numRuns: 300 },
  );
});

Deno.test("RPC arguments of any text reach the function exactly, through supabase-js", async () => {
  await fc.assert(
    fc.asyncProperty(text, text, async (t, inJson) => {
      const { data, error } = await untypedClient(stack.service_role_key).rpc("zz_echo", {
        p_n: "12345678901234567890.000000001",
        p_j: { [inJson]: [inJson] },
        p_t: t,
      });
      assert.equal(error, null);
      assert.deepEqual(data, {
        n: 12345678901234567890.000000001,
        j: { [inJson]: [inJson] },
        t,
      });
    }),
    { numRuns: 100 },
  );
});

Deno.test("a NUL character in a filter is 400 22021, as Postgres refuses it in a parameter", async () => {
  const r = await fetch(`${stack.api_url}/rest/v1/my_wallets?kind=eq.a%00b`, {
    headers: { apikey: stack.anon_key, authorization: `Bearer ${stack.service_role_key}` },
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).code, "22021");
  assert.throws(() => literal("a\u0000b"), /0x00/);
});

Deno.test({
  name: "the fixture functions are dropped, and unknown again to the gateway",
  fn: async () => {
    try {
      await sql.unsafe(`drop function public.zz_whoami(); drop function public.zz_raise(text);
        drop function public.zz_echo(numeric, jsonb, text);`);
      assert.equal((await rpcHttp("zz_whoami", {})).status, 404, "no stale signature cache");
    } finally {
      await sql.end();
    }
  },
});
