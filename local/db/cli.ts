// The real Supabase CLI (npm package `supabase`, pinned in package.json), for everything that takes
// a database URL and needs no Docker: db push, db diff, db lint, db advisors, gen types.
import { run } from "../stack/proc.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const bin = `${root}/node_modules/.bin/supabase`;

/** The CLI wants TLS unless told otherwise, and prints a warning into its output without this. */
export function cliUrl(dbUrl: string): string {
  const u = new URL(dbUrl);
  u.searchParams.set("sslmode", "disable");
  return u.toString();
}

/** Runs the CLI in this project (its supabase/ folder) and returns its standard output. */
export async function supabase(args: string[]): Promise<string> {
  return await run([bin, "--workdir", root, ...args], {
    env: { ...Deno.env.toObject(), SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
  });
}

/** Applies supabase/migrations with `supabase db push`: Supabase's own history table and splitter. */
export async function pushMigrations(dbUrl: string): Promise<void> {
  await supabase(["db", "push", `--remote=${cliUrl(dbUrl)}`, "--yes"]);
}
