// A throwaway Postgres cluster (temp dir, free port, pg_cron, the Supabase compat layer): what the
// schema checks and `npm run db:diff` build one database from the migrations and one from the
// declarative schemas in. pg_cron lives in one database per cluster, so each needs its own cluster.
import { ensureCluster, killCluster, psql, startCluster } from "../stack/postgres.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export type Scratch = {
  /** The project role postgres (not a superuser), as the migrations run on hosted Supabase. */
  url: string;
  /** The local superuser, for tools that install what they need (plpgsql_check for db lint). */
  adminUrl: string;
  apply(file: string): Promise<void>;
  stop(): Promise<void>;
};

export async function scratchCluster(): Promise<Scratch> {
  const dir = await Deno.makeTempDir({ prefix: "payout-scratch-" });
  // Postgres runs as the postgres OS user when we are root: it must be able to enter the folder.
  await Deno.chmod(dir, 0o755);
  const { cluster } = await ensureCluster(dir, freePort(), { small: true });
  await startCluster(cluster);
  const apply = async (file: string) => {
    await psql(cluster, ["--single-transaction", "-f", file]);
  };
  await psql(cluster, ["--single-transaction", "-f", `${root}/local/supabase-compat.sql`], {
    admin: true,
  });
  return {
    url: cluster.url,
    adminUrl: cluster.adminUrl,
    apply,
    async stop() {
      await killCluster(dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** The declarative schema files in the order config.toml's schema_paths applies them. */
export function schemaFiles(): string[] {
  return [...Deno.readDirSync(`${root}/supabase/schemas`)]
    .map((e) => e.name).filter((n) => n.endsWith(".sql")).sort()
    .map((n) => `${root}/supabase/schemas/${n}`);
}

/** A cluster holding exactly what supabase/schemas defines. */
export async function clusterFromSchemas(): Promise<Scratch> {
  const s = await scratchCluster();
  try {
    for (const f of schemaFiles()) await s.apply(f);
    return s;
  } catch (e) {
    await s.stop();
    throw e;
  }
}
