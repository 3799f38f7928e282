// Hosted Supabase's limits, enforced by the local stack (CONTRACT "Platform limits"): each role's
// statement timeout through the gateway, a function's own timeout hoisted, the cluster's 2-minute
// default, at most 1,000 rows from a set-returning function or a view, and pg_net sending a
// request once, taken off its queue first.
import assert from "node:assert/strict";
import { db, rpcHttp, stack, userJwt } from "./_support/stack.ts";

const sql = db();
const admin = (await import("postgres")).default(stack.admin_db_url, {
  max: 1,
  onnotice: () => {},
});
await admin.unsafe(`
  create or replace function public.zz_sleep(p_seconds float8) returns int language sql
    as 'select 1 from pg_sleep(p_seconds)';
  create or replace function public.zz_sleep_hoisted(p_seconds float8) returns int language sql
    set statement_timeout = '1s' as 'select 1 from pg_sleep(p_seconds)';
  create or replace function public.zz_rows(p_n int) returns setof int language sql
    as 'select generate_series(1, p_n)';
  create or replace view public.zz_rows_view as select generate_series(1, 1001) as n;
  grant execute on function public.zz_sleep(float8), public.zz_sleep_hoisted(float8), public.zz_rows(int)
    to anon, authenticated, service_role;
  grant select on public.zz_rows_view to anon, authenticated, service_role;
`);

Deno.test("anon is cut at 3 s (57014); authenticated may take longer; a function's own 1 s is hoisted", async () => {
  const anon = await rpcHttp("zz_sleep", { p_seconds: 3.5 }, stack.anon_key);
  assert.equal(anon.body.code, "57014", JSON.stringify(anon.body));
  const user = await rpcHttp("zz_sleep", { p_seconds: 3.5 }, userJwt(crypto.randomUUID()));
  assert.equal(user.status, 200, "authenticated: 8 s");
  const hoisted = await rpcHttp("zz_sleep_hoisted", { p_seconds: 1.5 }, stack.service_role_key);
  assert.equal(hoisted.body.code, "57014", "the function's statement_timeout applies to its call");
});

Deno.test("service-role requests run under the authenticator's 8 s", async () => {
  const r = await rpcHttp("zz_sleep", { p_seconds: 8.5 }, stack.service_role_key);
  assert.equal(r.body.code, "57014", JSON.stringify(r.body));
});

Deno.test("every other session (this one, pg_cron's) is cut at 2 minutes", async () => {
  const [{ statement_timeout }] = await sql`show statement_timeout`;
  assert.equal(statement_timeout, "2min");
});

Deno.test("at most 1,000 rows from a set-returning function or a view", async () => {
  const fn = await rpcHttp("zz_rows", { p_n: 1001 }, stack.service_role_key);
  assert.equal(fn.status, 200);
  assert.equal(fn.body.length, 1000);
  const view = await fetch(`${stack.api_url}/rest/v1/zz_rows_view?select=n&limit=5000`, {
    headers: { apikey: stack.anon_key, authorization: `Bearer ${stack.service_role_key}` },
  });
  assert.equal(view.status, 200);
  assert.equal((await view.json()).length, 1000);
});

Deno.test("pg_net: a request is taken off its queue, sent once and never retried, even on a 500", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response("no", { status: 500 });
  });
  try {
    const [{ id }] =
      await sql`select net.http_post(${`http://127.0.0.1:${server.addr.port}/x`}, '{"a": 1}'::jsonb) as id`;
    let answer: { status_code: number } | undefined;
    for (let i = 0; i < 100 && !answer; i++) {
      [answer] = await sql`select status_code from net._http_response where id = ${id}`;
      if (!answer) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(answer?.status_code, 500);
    const [{ queued }] =
      await sql`select count(*)::int as queued from net.http_request_queue where id = ${id}`;
    assert.equal(queued, 0, "taken off the queue");
    await new Promise((r) => setTimeout(r, 3_000)); // longer than the old drainer's first retry
    assert.equal(hits, 1, "sent once");
  } finally {
    await server.shutdown();
  }
});

Deno.test("closing: the probes are dropped again", async () => {
  await admin.unsafe(`drop view public.zz_rows_view;
    drop function public.zz_sleep(float8), public.zz_sleep_hoisted(float8), public.zz_rows(int);`);
  const [{ n }] = await sql`select count(*)::int as n from pg_proc
    where proname in ('zz_sleep', 'zz_sleep_hoisted', 'zz_rows')`;
  assert.equal(n, 0);
  await admin.end();
  await sql.end();
});
