// One request, one transaction, set up the way PostgREST sets it up: the access mode first, then
// the impersonated role, its JWT claims and that role's own settings (`alter role … set`, which
// PostgREST applies per transaction since v11.1; this project sets the business time zone that way).
import type postgres from "postgres";
import type { Caller } from "./auth.ts";
import { isUnreachable } from "./errors.ts";

type Sql = postgres.Sql;

const SETTINGS_TTL_MS = 5_000;
/** The gateway's pool size (local/gateway.ts). */
export const POOL_SIZE = 8;
let cached: { at: number; byRole: Map<string, [string, string][]> } | null = null;

async function roleSettings(sql: Sql, role: string): Promise<[string, string][]> {
  if (!cached || Date.now() - cached.at > SETTINGS_TTL_MS) {
    const rows = await sql<{ role: string; config: string[] }[]>`
      select r.rolname as role, s.setconfig as config
        from pg_catalog.pg_db_role_setting s
        join pg_catalog.pg_roles r on r.oid = s.setrole
       where s.setdatabase in (0, (select oid from pg_catalog.pg_database
                                     where datname = pg_catalog.current_database()))
       order by s.setdatabase`;
    const byRole = new Map<string, [string, string][]>();
    for (const r of rows) {
      const list = byRole.get(r.role) ?? [];
      for (const c of r.config) {
        const eq = c.indexOf("=");
        list.push([c.slice(0, eq), c.slice(eq + 1)]);
      }
      byRole.set(r.role, list);
    }
    cached = { at: Date.now(), byRole };
  }
  return cached.byRole.get(role) ?? [];
}

/** How long a request keeps retrying a database it cannot reach before it answers 503. */
const RETRY_BUDGET_MS = 5_000;

/** Where a request's work was when it failed. */
type Phase = { commitSent: boolean };

/**
 * Runs `attempt` again while it fails because the database could not be reached and nothing of it
 * can have committed. A connection lost before COMMIT was sent took its open transaction with it,
 * so running the work again is safe. This is what a pooled connection does that died while idle
 * (a database restart): depending on the kernel's timing it fails as a closed connection or as
 * ECONNRESET on its next query, and each failure retires one dead connection. Work whose
 * connection was lost after COMMIT was sent may have committed: that is never retried.
 */
async function retryingUnreachable<T>(attempt: (phase: Phase) => Promise<T>): Promise<T> {
  const deadline = Date.now() + RETRY_BUDGET_MS;
  for (let n = 1;; n++) {
    const phase: Phase = { commitSent: false };
    try {
      return await attempt(phase);
    } catch (e) {
      if (phase.commitSent || !isUnreachable(e) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(20 * n, 250)));
    }
  }
}

/**
 * A read of the catalog on the gateway's own behalf (a function's signature, a view's columns): it
 * commits nothing, so it is retried like a request that never reached COMMIT. Every query the
 * gateway sends goes through here or through `inTransaction`: one stale pooled connection must
 * never turn a request into a 503.
 */
export function catalogRead<T>(read: () => Promise<T>): Promise<T> {
  return retryingUnreachable(() => read());
}

/** The request's transaction: a connection of the pool inside BEGIN … COMMIT. */
export type Tx = postgres.TransactionSql;

export function inTransaction<T>(
  sql: Sql,
  caller: Caller,
  readOnly: boolean,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return retryingUnreachable((phase) => once(sql, caller, readOnly, fn, phase));
}

/**
 * The role with its claims and settings, and the request's first query go out pipelined in one
 * write: three round trips (BEGIN, these two, COMMIT) instead of four. Each socket write on
 * loopback carries the kernel's delivery to Postgres with it, and under load those writes were the
 * largest part of the gateway's CPU time. The order is Postgres's: if the settings fail, the
 * request's query fails too (25P02) and the settings' error is the one reported.
 * (postgres.js's sql.reserve() would let BEGIN join them, but it never hands out a connection it
 * had to reconnect first: after a database restart every request would hang.)
 */
async function once<T>(
  sql: Sql,
  caller: Caller,
  readOnly: boolean,
  fn: (tx: Tx) => Promise<T>,
  phase: Phase,
): Promise<T> {
  const settings = await roleSettings(sql, caller.role);
  return await sql.begin(readOnly ? "read only" : "read write", async (tx) => {
    const pairs: [string, string][] = [
      ["role", caller.role],
      ["request.jwt.claims", JSON.stringify(caller.claims)],
      ...settings,
    ];
    // postgres.js runs a query when it is first awaited; execute() queues this one now, before
    // the request's own query.
    const setup = tx.unsafe(
      `select ${pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(", ")}`,
      pairs.flat(),
    ).execute();
    const work = fn(tx);
    // Both are awaited below; until then neither may count as an unhandled rejection.
    setup.catch(() => {});
    work.catch(() => {});
    await setup;
    const result = await work;
    // postgres.js sends COMMIT as soon as this callback returns.
    phase.commitSent = true;
    return result;
  }) as T;
}
