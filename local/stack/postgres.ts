// The project-local Postgres 15 cluster that stands in for Supabase's database.
import { exists, isRoot, run } from "./proc.ts";

const BIN = "/usr/lib/postgresql/15/bin";

/**
 * A cluster laid out as hosted Supabase lays it out: the superuser is `supabase_admin` and runs
 * only local/supabase-compat.sql (and test-only setup); the project's own role `postgres` is not
 * a superuser, owns the database, applies the migrations and is what the tests connect as, so a
 * migration or test that would need superuser here fails here as it would there.
 */
export type Cluster = { dir: string; run: string; port: number; url: string; adminUrl: string };

export const ADMIN_ROLE = "supabase_admin";

export async function ensureCluster(
  dir: string,
  port: number,
  // small: a scratch cluster for schema checks, which must not take gigabytes of shared memory.
  opts: { small?: boolean } = {},
): Promise<{ cluster: Cluster; created: boolean }> {
  const data = `${dir}/pg`;
  const sock = `${dir}/pg-run`;
  const created = !(await exists(`${data}/PG_VERSION`));
  await Deno.mkdir(sock, { recursive: true });
  if (created) {
    await Deno.mkdir(data, { recursive: true });
    if (isRoot) await run(["chown", "-R", "postgres:postgres", data, sock]);
    await Deno.chmod(data, 0o700);
    await run([
      `${BIN}/initdb`,
      "-D",
      data,
      "-U",
      ADMIN_ROLE,
      "--auth=trust",
      "-E",
      "UTF8",
      "--locale=C.UTF-8",
    ], {
      asPostgres: true,
    });
    const conf = [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${sock}'`,
      "shared_preload_libraries = 'pg_cron'",
      "cron.database_name = 'postgres'",
      "cron.timezone = 'UTC'",
      "timezone = 'UTC'",
      // Hosted Supabase cuts every session's statement at 2 minutes, pg_cron jobs included.
      "statement_timeout = '2min'",
      ...(opts.small ? [] : ["max_connections = 200"]),
      // Sized for a payout database on this 24 GiB machine: a slot over a million stakes touches
      // ~1.5 GB of stakes, wallets, payouts and entries; with less, it is bound by buffer
      // evictions instead of work. A slot should not be split by a checkpoint either.
      ...(opts.small ? ["shared_buffers = '128MB'", "fsync = off", "max_connections = 20"] : [
        "shared_buffers = '3GB'",
        "max_wal_size = '8GB'",
        "checkpoint_timeout = '15min'",
        "fsync = on",
      ]),
    ].join("\n");
    await Deno.writeTextFile(`${data}/postgresql.conf`, `\n${conf}\n`, { append: true });
  } else if (isRoot) {
    await run(["chown", "postgres:postgres", sock]);
  }
  return {
    cluster: {
      dir: data,
      run: sock,
      port,
      url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      adminUrl: `postgresql://${ADMIN_ROLE}@127.0.0.1:${port}/postgres`,
    },
    created,
  };
}

export async function startCluster(c: Cluster) {
  // A previous run killed hard may have left a server behind: stop it so the port is ours.
  const status = await new Deno.Command(isRoot ? "runuser" : `${BIN}/pg_ctl`, {
    args: isRoot
      ? ["-u", "postgres", "--", `${BIN}/pg_ctl`, "-D", c.dir, "status"]
      : ["-D", c.dir, "status"],
    stdout: "null",
    stderr: "null",
  }).output();
  if (status.success) await stopCluster(c);
  await run([
    `${BIN}/pg_ctl`,
    "-D",
    c.dir,
    "-l",
    `${c.run}/postgres.log`,
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${c.port}`,
    "start",
  ], {
    asPostgres: true,
  });
}

export async function stopCluster(c: Cluster) {
  await run([`${BIN}/pg_ctl`, "-D", c.dir, "-m", "fast", "-w", "stop"], { asPostgres: true });
}

/** Restarts a stack's cluster in place (the recovery tests and the chaos harness use it). */
export async function restartCluster(stackDir: string, port: number | string) {
  // -l: the restarted server must not hold our output pipes open (output() would wait forever).
  await run([
    `${BIN}/pg_ctl`,
    "-D",
    `${stackDir}/pg`,
    "-l",
    `${stackDir}/pg-run/postgres.log`,
    "-m",
    "fast",
    "-w",
    "-o",
    `-p ${port}`,
    "restart",
  ], {
    asPostgres: true,
  });
}

/** Stops a stack's cluster at once, if it runs (leftovers of a stack that died). */
export async function killCluster(stackDir: string) {
  await run([`${BIN}/pg_ctl`, "-D", `${stackDir}/pg`, "-m", "immediate", "-w", "stop"], {
    asPostgres: true,
  })
    .catch(() => {});
}

/** Runs SQL files (or a command) as the superuser, stopping at the first error. */
export async function psql(c: Cluster, args: string[], opts: { admin?: boolean } = {}) {
  return await run([
    "psql",
    "-X",
    "-q",
    "-v",
    "ON_ERROR_STOP=1",
    "-h",
    "127.0.0.1",
    "-p",
    String(c.port),
    "-U",
    opts.admin ? ADMIN_ROLE : "postgres",
    "-d",
    "postgres",
    ...args,
  ]);
}
