// The gateway's transaction runner when a pooled connection dies under it. A small TCP proxy sits
// between a postgres.js pool and the stack's real Postgres and cuts the connection at a chosen
// moment, with a TCP reset (what a connection that died while idle gives on its next query on some
// kernels: one of ten concurrent webhooks would answer 503) or after
// forwarding the request's message and closing (the request did commit: running it again would
// apply it twice). The gateway sends each request as one message (gateway/transaction.ts).
// Also a backend terminated mid-query on a direct pool: postgres.js fails the next query with the
// old error before sending it, although the query never ran.
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import { startGateway } from "../local/gateway.ts";
import { literal, runStatement } from "../local/gateway/transaction.ts";
import { db, stack } from "./_support/stack.ts";

type Cut = "none" | "reset-on-next-query" | "after-delivery";

/** A proxy to the stack's Postgres whose next client connection activity can be cut. */
function cuttingProxy() {
  const upstream = new URL(stack.db_url);
  const clients = new Set<net.Socket>();
  const state = { cut: "none" as Cut };
  const doomed = new WeakSet<net.Socket>();
  const server = net.createServer((client) => {
    clients.add(client);
    const server = net.connect(Number(upstream.port), upstream.hostname);
    client.on("data", (chunk: Buffer) => {
      if (state.cut === "reset-on-next-query" || doomed.has(client)) {
        // The query never reaches Postgres: its connection is already gone.
        if (!doomed.has(client)) state.cut = "none";
        server.destroy();
        client.resetAndDestroy();
        return;
      }
      // The request reaches Postgres (and commits), but its answer never reaches the client.
      if (state.cut === "after-delivery") {
        state.cut = "none";
        answerLost = true;
        server.write(chunk);
        // A plain close (postgres.js: CONNECTION_CLOSED), as a network drop looks mid-request.
        setTimeout(() => {
          server.destroy();
          client.destroy();
        }, 200);
        return;
      }
      server.write(chunk);
    });
    let answerLost = false;
    server.on("data", (chunk: Buffer) => !answerLost && client.writable && client.write(chunk));
    server.on("error", () => client.destroy());
    client.on("error", () => server.destroy());
    client.on("close", () => {
      clients.delete(client);
      server.destroy();
    });
  });
  const ready = new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port))
  );
  return {
    ready,
    state,
    /** Every connection open now dies with a reset on its next query, as after a restart. */
    cutEveryOpenConnection: () => {
      for (const c of clients) doomed.add(c);
    },
    close: () => {
      for (const c of clients) c.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const service = { role: "service_role", claims: { role: "service_role" } };
const admin = db(1);
await admin`create table if not exists public.zz_connection_loss (id bigserial primary key, tag text)`;

/** One tagged row through the gateway's runner, which must answer it as inserted. */
async function insertTag(pool: postgres.Sql, tag: string) {
  const rows = await runStatement(
    pool,
    service,
    false,
    `insert into public.zz_connection_loss (tag) values (${literal(tag)}) returning 1 as n`,
  );
  assert.deepEqual(rows.map((r) => r.n), [1]);
}

async function withProxiedPool(run: (pool: postgres.Sql, cut: (c: Cut) => void) => Promise<void>) {
  const proxy = cuttingProxy();
  const port = await proxy.ready;
  const url = new URL(stack.db_url);
  url.port = String(port);
  const pool = postgres(url.toString(), {
    max: 1,
    prepare: false,
    onnotice: () => {},
    ...{ max_pipeline: 1 } as object,
  });
  try {
    // Warm the pool: the connection exists and is idle, as in a gateway that has served requests.
    await pool`select 1`;
    await run(pool, (c) => (proxy.state.cut = c));
  } finally {
    await pool.end({ timeout: 1 });
    await proxy.close();
  }
}

Deno.test("a pooled connection reset before the request ran: the request is retried and runs once", async () => {
  const tag = crypto.randomUUID();
  await withProxiedPool(async (pool, cut) => {
    cut("reset-on-next-query");
    await insertTag(pool, tag);
  });
  const rows = await admin`select 1 from public.zz_connection_loss where tag = ${tag}`;
  assert.equal(rows.length, 1, "applied exactly once");
});

Deno.test("a connection lost after the request was sent is never retried: it may have committed", async () => {
  const tag = crypto.randomUUID();
  await withProxiedPool(async (pool, cut) => {
    cut("after-delivery");
    await assert.rejects(
      runStatement(
        pool,
        service,
        false,
        `insert into public.zz_connection_loss (tag) values (${literal(tag)})`,
      ),
      "the caller learns that the outcome is unknown",
    );
  });
  const rows = await admin`select 1 from public.zz_connection_loss where tag = ${tag}`;
  assert.equal(rows.length, 1, "the committed request was not applied a second time");
});

Deno.test("a backend terminated during a query: the next request on that connection runs once (postgres.js replays the old 57P01)", async () => {
  // postgres.js 3.4.9 keeps the FATAL error of a backend terminated mid-query and fails the first
  // query of the reconnected connection with it, before sending that query (porsager/postgres#1223).
  // The gateway must see that the query was never sent: on the code before, this was a 503.
  const tag = crypto.randomUUID();
  const pool = postgres(stack.db_url, {
    max: 1,
    prepare: false,
    onnotice: () => {},
    ...{ max_pipeline: 1 } as object,
  });
  try {
    const [{ pid }] = await pool<{ pid: number }[]>`select pg_catalog.pg_backend_pid() as pid`;
    const sleeping = pool`select pg_catalog.pg_sleep(10)`.catch((e) => e);
    // Terminate it only once the sleep runs, so the FATAL error arrives while a query is active.
    for (let i = 0; i < 200; i++) {
      const [{ n }] = await admin<{ n: number }[]>`
        select count(*)::int as n from pg_catalog.pg_stat_activity
         where pid = ${pid} and query like '%pg_sleep(10)%' and state = 'active'`;
      if (n) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await admin`select pg_catalog.pg_terminate_backend(${pid})`;
    const lost = await sleeping;
    assert.ok(lost instanceof Error, "(control) the terminated query failed");
    await insertTag(pool, tag);
  } finally {
    await pool.end({ timeout: 1 });
  }
  const rows = await admin`select 1 from public.zz_connection_loss where tag = ${tag}`;
  assert.equal(rows.length, 1, "applied exactly once");
});

Deno.test("(driver pin) postgres.js leaves a query's statement null until it writes it", async () => {
  // The retry above rests on this internal field of the pinned postgres.js (transaction.ts,
  // neverSent): a version that changes it must fail here, not silently retry nothing.
  const pool = postgres(stack.db_url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    const query = pool.unsafe("select 1 as n").simple();
    assert.equal((query as unknown as { statement: unknown }).statement, null, "before sending");
    await query;
    assert.notEqual((query as unknown as { statement: unknown }).statement, null, "once sent");
  } finally {
    await pool.end({ timeout: 1 });
  }
});

Deno.test("every pooled connection dead since a restart: ten concurrent RPCs through the gateway all answer 200", async () => {
  // The gateway's own catalog read (the function's signature) must run inside the retry too: on a
  // dead pooled connection outside it, one of ten concurrent webhooks would get a 503.
  const proxy = cuttingProxy();
  const url = new URL(stack.db_url);
  url.port = String(await proxy.ready);
  const gateway = await startGateway({
    port: 0,
    dbUrl: url.toString(),
    jwtSecret: stack.jwt_secret,
    drain: false,
  });
  try {
    const call = () =>
      fetch(`${gateway.url}/rest/v1/rpc/health`, { method: "POST", body: "{}" })
        .then(async (r) => ({ status: r.status, body: await r.json() }));
    // Fill the pool: every connection is open and idle.
    await Promise.all(Array.from({ length: 16 }, call));
    proxy.cutEveryOpenConnection();
    const results = await Promise.all(Array.from({ length: 10 }, call));
    assert.deepEqual(results.map((r) => r.status), Array(10).fill(200), JSON.stringify(results));
  } finally {
    await gateway.close();
    await proxy.close();
  }
});

Deno.test("closing: drop the probe table", async () => {
  await admin`drop table public.zz_connection_loss`;
  const [gone] = await admin`select to_regclass('public.zz_connection_loss') is null as gone`;
  await admin.end();
  assert.equal(gone.gone, true);
});
