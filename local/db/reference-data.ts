// What a schema diff cannot see but a deployment must carry: rows the schema files insert (settings
// defaults, platform ledger accounts), pg_cron jobs and the API roles' settings. Two databases
// built from the migrations and from the schemas must agree on all of it.
import postgres from "postgres";

const QUERIES: Record<string, string> = {
  settings: "select key, value from app.settings order by key",
  platform_accounts:
    "select kind, currency from app.accounts where user_id is null order by kind, currency",
  cron_jobs: "select jobname, schedule, command from cron.job order by jobname",
  role_settings: `select r.rolname, s.setconfig from pg_catalog.pg_db_role_setting s
                    join pg_catalog.pg_roles r on r.oid = s.setrole
                   where r.rolname in ('anon', 'authenticated', 'service_role')
                   order by r.rolname`,
};

export async function referenceData(dbUrl: string): Promise<Record<string, unknown>> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    const out: Record<string, unknown> = {};
    for (const [name, q] of Object.entries(QUERIES)) out[name] = await sql.unsafe(q);
    return JSON.parse(JSON.stringify(out));
  } finally {
    await sql.end();
  }
}

/** The names of the reference sets on which two databases differ. */
export async function referenceDataDiffers(a: string, b: string): Promise<string[]> {
  const [x, y] = await Promise.all([referenceData(a), referenceData(b)]);
  return Object.keys(QUERIES).filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));
}
