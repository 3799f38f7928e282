// Delivers the net.http_post queue (the pg_net stand-in of local/supabase-compat.sql). Rows only
// exist once their transaction committed, so nothing from a rolled-back transaction is ever sent.
// Delivery is at-least-once with bounded retries; every receiver is idempotent by design.
import type postgres from "postgres";
import { log } from "./log.ts";

const MAX_ATTEMPTS = 3;
const BATCH = 16;

type Row = {
  id: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeout_milliseconds: number;
  attempts: number;
};

export function startNetDrainer(sql: postgres.Sql) {
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;

  async function deliver(row: Row) {
    let status: number | null = null;
    let content: string | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(row.url, {
        method: "POST",
        headers: row.headers,
        body: row.body === null ? undefined : JSON.stringify(row.body),
        signal: AbortSignal.timeout(row.timeout_milliseconds),
      });
      status = res.status;
      content = await res.text();
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const ok = status !== null && status < 500;
    const final = ok || row.attempts >= MAX_ATTEMPTS;
    await sql`
      with r as (
        insert into net._http_response (id, status_code, content, error_msg)
        values (${row.id}, ${status}, ${content}, ${error})
        on conflict (id) do update set status_code = excluded.status_code,
          content = excluded.content, error_msg = excluded.error_msg, created = now()
      )
      update net.http_request_queue
         set state = ${ok ? "done" : final ? "failed" : "pending"},
             next_attempt_at = now() + make_interval(secs => ${2 ** row.attempts})
       where id = ${row.id}`;
    log(ok ? "info" : "warn", "net.http_post delivered", {
      id: row.id,
      status,
      attempt: row.attempts,
      error,
    });
  }

  async function drain() {
    do {
      again = false;
      const rows = await sql<Row[]>`
        update net.http_request_queue q
           set state = 'delivering', attempts = q.attempts + 1
         where q.id in (select id from net.http_request_queue
                         where state = 'pending' and next_attempt_at <= now()
                         order by id for update skip locked limit ${BATCH})
        returning q.id, q.url, q.headers, q.body, q.timeout_milliseconds, q.attempts`;
      await Promise.all(rows.map(deliver));
      if (rows.length === BATCH) again = true;
    } while (again && !stopped);
  }

  function kick() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = drain()
      .catch((e) => log("error", "net drainer failed", { error: String(e) }))
      .finally(() => (running = null));
  }

  const ready = (async () => {
    // A crash mid-delivery leaves rows in `delivering`: hand them back (at-least-once).
    await sql`update net.http_request_queue set state = 'pending' where state = 'delivering'`;
    await sql.listen("net_http_request", () => kick());
    kick();
  })();
  const timer = setInterval(kick, 1000);

  return {
    ready,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
