// One request, one transaction, set up the way PostgREST sets it up: the access mode first, then
// the impersonated role, its JWT claims and that role's own settings (`alter role … set`, which
// PostgREST applies per transaction since v11.1; this project sets the business time zone that way).
import type postgres from "postgres";
import type { Caller } from "./auth.ts";
import { isUnreachable, neverDelivered } from "./errors.ts";
import { requestSettings } from "./limits.ts";

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

async function retrying<T>(attempt: () => Promise<T>, retryable: (e: unknown) => boolean) {
  const deadline = Date.now() + RETRY_BUDGET_MS;
  for (let n = 1;; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!retryable(e) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, Math.min(20 * n, 250)));
    }
  }
}

/**
 * A read of the catalog on the gateway's own behalf (a function's signature, a view's columns): it
 * commits nothing, so it is retried whenever the database could not be reached. Every query the
 * gateway sends goes through here or through `runStatement`: one stale pooled connection must
 * never turn a request into a 503.
 */
export function catalogRead<T>(read: () => Promise<T>): Promise<T> {
  return retrying(read, isUnreachable);
}

/**
 * A Postgres string literal that reads back exactly `s`, whatever standard_conforming_strings
 * says: an E'' literal with every backslash and quote doubled, so nothing in `s` can end it. A NUL
 * character is refused as Postgres refuses it in a parameter (22021).
 */
export function literal(s: string): string {
  if (s.includes("\0")) {
    throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
      code: "22021",
    });
  }
  return `E'${s.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/**
 * The request's statement in a transaction of its own, set up the way PostgREST sets one up (access
 * mode, role, claims, the role's settings), all sent as one simple-protocol message. Postgres runs
 * the statements of one message as one implicit transaction: it commits after the last, and if any
 * fails, none of it stays. One round trip instead of BEGIN, setup, statement and COMMIT: on this
 * two-core machine each round trip's socket write (which delivers to and wakes Postgres) was the
 * largest part of the gateway's CPU time, and one message per request measured 1.65x the requests
 * per second of the transaction block (the README's benchmark section). `text` is complete SQL: its
 * values are `literal`s, as a message of several statements cannot carry parameters.
 */
export function runStatement<T extends postgres.Row>(
  sql: Sql,
  caller: Caller,
  readOnly: boolean,
  text: string,
  /** The called function's own settings PostgREST hoists (its statement_timeout). */
  hoisted: [string, string][] = [],
): Promise<T[]> {
  let query: Promise<unknown> | null = null;
  return retrying(async () => {
    query = null;
    const pairs: [string, string][] = [
      ["role", caller.role],
      ["request.jwt.claims", JSON.stringify(caller.claims)],
      ...requestSettings(
        await catalogRead(() => roleSettings(sql, "authenticator")),
        await catalogRead(() => roleSettings(sql, caller.role)),
        hoisted,
      ),
    ];
    const setup = pairs.map(([k, v]) =>
      `pg_catalog.set_config(${literal(k)}, ${literal(v)}, true)`
    );
    const message = `set transaction ${readOnly ? "read only" : "read write"};
select ${setup.join(", ")};
${text}`;
    query = sql.unsafe(message).simple();
    const results = await query as unknown as T[][];
    return results[results.length - 1];
  }, (e) => neverDelivered(e) || (query !== null && neverSent(query) && isUnreachable(e)));
}

/**
 * Whether postgres.js failed this query before writing it. It builds a query (setting
 * `statement`, null until then) immediately before writing it to the socket, so a query without a
 * statement never reached Postgres. This matters because postgres.js 3.4.9 keeps a FATAL error
 * that arrived while a query ran (a backend terminated by a restart or pg_terminate_backend: the
 * error comes, then the close, and the close wins) and replays it onto the first query of the next
 * connection it opens, before sending that query (upstream issue porsager/postgres#1223). That
 * query fails with 57P01 although it never ran; without this check it would answer 503 to the first
 * request that needs a connection opened after a restart (a webhook among ten concurrent ones, say),
 * although retrying it is safe. tests/gateway-connection-loss pins the internal field.
 */
function neverSent(query: unknown): boolean {
  return (query as { statement?: unknown }).statement === null;
}
