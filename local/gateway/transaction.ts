// One request, one transaction, set up the way PostgREST sets it up: the access mode first, then
// the impersonated role, its JWT claims and that role's own settings (`alter role … set`, which
// PostgREST applies per transaction since v11.1; this project sets the business time zone that way).
import type postgres from "postgres";
import type { Caller } from "./auth.ts";

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

/**
 * Errors after which nothing of the request can have committed: the server ended the backend (its
 * transaction is rolled back), refused the connection, or the query could not even be written to a
 * pooled connection that died while idle (a database restart). Retrying these is safe.
 */
function nothingCommitted(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (["57P01", "57P02", "57P03", "ECONNREFUSED", "CONNECT_TIMEOUT"].includes(err?.code ?? "")) {
    return true;
  }
  return err?.code === "CONNECTION_CLOSED" && /^write /.test(err.message ?? "");
}

export async function inTransaction<T>(
  sql: Sql,
  caller: Caller,
  readOnly: boolean,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await once(sql, caller, readOnly, fn);
    } catch (e) {
      // Each failure retires one dead pooled connection: enough attempts to outlast the whole pool.
      if (attempt > POOL_SIZE + 1 || !nothingCommitted(e)) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

async function once<T>(
  sql: Sql,
  caller: Caller,
  readOnly: boolean,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  const settings = await roleSettings(sql, caller.role);
  return await sql.begin(readOnly ? "read only" : "read write", async (tx) => {
    await tx`select set_config('role', ${caller.role}, true),
                    set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true)`;
    for (const [k, v] of settings) await tx`select set_config(${k}, ${v}, true)`;
    return await fn(tx);
  }) as T;
}
