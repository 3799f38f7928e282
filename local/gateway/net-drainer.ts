// Delivers the net.http_post queue (the pg_net stand-in of local/supabase-compat.sql) as hosted
// pg_net does: rows only exist once their transaction committed (nothing of a rolled-back one is
// sent); a request is taken off the queue before it is sent, sent once with its timeout, and
// never retried, whatever the answer; its outcome goes to net._http_response. What must arrive is
// made to arrive by its sender: the cron sweeps, the alert job's next run.
import type postgres from "postgres";
import { log } from "./log.ts";

/** pg_net sends up to this many requests a tick. */
const BATCH = 200;

type Row = {
  id: string;
  url: string;
  headers: Record<string, string>;
  /** The body as pg_net sends it: jsonb's own text (what a signature over it covers). */
  body: string | null;
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
        body: row.body ?? undefined,
        signal: AbortSignal.timeout(row.timeout_milliseconds),
      });
      status = res.status;
      content = await res.text();
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    await sql`
      insert into net._http_response (id, status_code, content, error_msg)
      values (${row.id}, ${status}, ${content}, ${error})
      on conflict (id) do nothing`;
    log(status !== null && status < 500 ? "info" : "warn", "net.http_post delivered", {
      id: row.id,
      status,
      attempt: row.attempts,
      error,
    });
  }

  async function drain() {
    do {
      again = false;
      // Taken off the queue before it is sent, as pg_net does (a request waiting to be sent is a
      // row of net.http_request_queue, on hosted Supabase too).
      const rows = await sql<Row[]>`
        delete from net.http_request_queue q
         where q.id in (select id from net.http_request_queue
                         order by id for update skip locked limit ${BATCH})
        returning q.id, q.url, q.headers, q.body::text as body, q.timeout_milliseconds, 1 as attempts`;
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
