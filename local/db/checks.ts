// The schema checks of `npm test`, each against a fresh database built from supabase/migrations
// with `supabase db push` (not the test stack's: it turns the cron jobs off and registers a token):
//  - the migrations and supabase/schemas define the same database (`supabase db diff`, plus the
//    reference rows a schema diff cannot see);
//  - `supabase db lint --fail-on warning` (plpgsql_check) is clean;
//  - `supabase db advisors`: no WARN or ERROR, and every INFO is in supabase/advisors-allowlist.json;
//  - the committed generated types match `supabase gen types`;
//  - squawk passes on every migration after the baseline.
import postgres from "postgres";
import { cliUrl, pushMigrations, supabase } from "./cli.ts";
import { referenceDataDiffers } from "./reference-data.ts";
import { clusterFromSchemas, scratchCluster } from "./scratch.ts";
import { generatedTypes, TYPES_FILE } from "./types.ts";
import { run } from "../stack/proc.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const BASELINE = "20261122100000"; // the switch to declarative schemas

export type Check = { name: string; ok: boolean; detail: string };

async function check(name: string, body: () => Promise<string | null>): Promise<Check> {
  try {
    const problem = await body();
    return { name, ok: problem === null, detail: problem ?? "" };
  } catch (e) {
    return { name, ok: false, detail: String(e instanceof Error ? e.message : e) };
  }
}

/** The SQL that turns database `from` into `to`; empty when they define the same objects. */
export async function schemaDiff(from: string, to: string): Promise<string> {
  const out = await Deno.makeTempFile({ suffix: ".sql" });
  try {
    await supabase(["db", "diff", "--from", cliUrl(from), "--to", cliUrl(to), "-o", out]);
    return (await Deno.readTextFile(out)).trim();
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

export async function schemaChecks(): Promise<Check[]> {
  const [migrations, schemas] = await Promise.all([scratchCluster(), clusterFromSchemas()]);
  try {
    await pushMigrations(migrations.url);
    return await checksOn(migrations.url, migrations.adminUrl, schemas.url);
  } finally {
    await Promise.all([migrations.stop(), schemas.stop()]);
  }
}

async function checksOn(dbUrl: string, adminUrl: string, schemasUrl: string): Promise<Check[]> {
  const results: Check[] = [];
  results.push(
    await check("migrations and supabase/schemas define the same database", async () => {
      const diff = await schemaDiff(dbUrl, schemasUrl);
      if (diff) return `supabase db diff (migrations → schemas) is not empty:\n${diff}`;
      const rows = await referenceDataDiffers(dbUrl, schemasUrl);
      return rows.length ? `reference data differs: ${rows.join(", ")}` : null;
    }),
  );
  results.push(await check("supabase db advisors: clean or allowlisted", () => advisors(dbUrl)));
  results.push(
    await check(`generated types are current (${TYPES_FILE})`, async () => {
      const committed = await Deno.readTextFile(`${root}/${TYPES_FILE}`);
      return committed === await generatedTypes(dbUrl)
        ? null
        : `${TYPES_FILE} differs from the database: run npm run db:types and commit it`;
    }),
  );
  // Last: it needs plpgsql_check, which the advisors would report in public.
  results.push(await check("supabase db lint --fail-on warning", () => lint(dbUrl, adminUrl)));
  results.push(await check("squawk passes on the migrations after the baseline", () => squawk()));
  return results;
}

/**
 * `supabase db lint` (plpgsql_check) at level warning. Hosted Supabase lets postgres create the
 * extension; here only the superuser may, so it is installed first (the CLI connects to a
 * database it does not know as postgres, whatever the URL's user).
 */
export async function lint(dbUrl: string, adminUrl: string): Promise<string | null> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin`create extension if not exists plpgsql_check`.finally(() => admin.end());
  await supabase([
    "db",
    "lint",
    `--remote=${cliUrl(dbUrl)}`,
    "--schema",
    "app,public",
    "--level",
    "warning",
    "--fail-on",
    "warning",
  ]);
  return null;
}

type Finding = { name: string; level: string; detail: string; cache_key: string };

export async function advisors(dbUrl: string): Promise<string | null> {
  const args = [
    "db",
    "advisors",
    `--remote=${cliUrl(dbUrl)}`,
    "--type",
    "all",
    "--level",
    "info",
    // A WARN or ERROR fails the CLI itself; the INFO findings are checked against the allowlist.
    "--fail-on",
    "warn",
    "-o",
    "json",
  ];
  let out: string;
  let failed = false;
  try {
    out = await supabase(args);
  } catch (e) {
    // The findings are still printed: list them.
    out = e instanceof Error ? e.message : String(e);
    failed = true;
  }
  const start = out.search(/^\[/m);
  if (start < 0) return failed ? out : null;
  const findings: Finding[] = JSON.parse(out.slice(start));
  const allow: Record<string, string> = JSON.parse(
    await Deno.readTextFile(`${root}/supabase/advisors-allowlist.json`),
  ).info;
  const bad = findings.filter((f) => f.level !== "INFO" || !(f.cache_key in allow));
  if (bad.length) {
    return bad.map((f) => `${f.level} ${f.name} (${f.cache_key}): ${f.detail}`).join("\n");
  }
  return failed ? out : null;
}

function migrationsAfterBaseline(): string[] {
  return [...Deno.readDirSync(`${root}/supabase/migrations`)]
    .map((e) => e.name).filter((n) => n.endsWith(".sql") && n.slice(0, 14) > BASELINE).sort()
    .map((n) => `${root}/supabase/migrations/${n}`);
}

export async function squawk(files = migrationsAfterBaseline()): Promise<string | null> {
  if (!files.length) return null;
  await run([`${root}/node_modules/.bin/squawk`, "--config", `${root}/.squawk.toml`, ...files]);
  return null;
}
