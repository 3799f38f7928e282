// `npm start`: the no-Docker stand-in for `supabase start`. Postgres 15 (pg_cron), anvil with
// PropertyToken deployed, and the gateway. Writes $STACK_DIR/stack.json; stops everything it
// started on SIGINT/SIGTERM. Data survives restarts; STACK_FRESH=1 starts from empty.
import { Wallet } from "ethers";
import { signJwt } from "./jwt.ts";
import { ADMIN_ROLE, ensureCluster, psql, startCluster, stopCluster } from "./stack/postgres.ts";
import { startChainProxy } from "./stack/chain-proxy.ts";
import { startPaystackApi } from "./stack/paystack-api.ts";
import { LOCAL_ADMIN, seedAdminSql } from "./auth/seed-admin.ts";
import { buildConsole } from "../console/build.ts";
import { startAnvil } from "./stack/anvil.ts";
import { deployPropertyToken } from "./stack/token.ts";
import { startGateway } from "./gateway.ts";
import { exists } from "./stack/proc.ts";
import { pushMigrations } from "./db/cli.ts";
import { JsonRpc } from "../supabase/functions/_shared/json-rpc.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

// Local development values only, like `supabase start`'s well-known demo keys.
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
export const LOCAL_PAYSTACK_SECRET = "sk_test_local_paystack_secret_for_development_only";
// anvil's first dev account: the platform treasury.
export const LOCAL_TREASURY_KEY =
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const CHAIN_ID = 31337;
const PROPERTY_ID = "LEKKI-GARDENS-001";

export type StackInfo = {
  api_url: string;
  db_url: string;
  /** The local superuser (supabase_admin), for local-only tooling: benchmarks, test setup. */
  admin_db_url: string;
  chain_rpc_url: string;
  chain_id: number;
  anon_key: string;
  service_role_key: string;
  jwt_secret: string;
  paystack_secret_key: string;
  /** The local stand-in of Paystack's verify endpoint (local/stack/paystack-api.ts). */
  paystack_api_url: string;
  treasury_address: string;
  treasury_private_key: string;
  token_address: string;
  tokenization_id: string | null;
  /** Test stacks only (ALLOW_FAULT_INJECTION): the misbehaving node the edge functions try first
   * (local/stack/chain-proxy.ts); anvil itself is their second endpoint. */
  chain_fault_proxy_url?: string;
  /** The operator console (static files served by the gateway) and its local admin's sign-in. */
  console_url: string;
  admin_email: string;
  admin_password: string;
  admin_totp_secret: string;
};

export type StackOptions = {
  dir: string;
  dbPort: number;
  chainPort: number;
  apiPort: number;
  paystackPort: number;
  fresh: boolean;
  seed: boolean;
  cron: boolean;
};

export function optionsFromEnv(): StackOptions {
  const env = (k: string, d: string) => Deno.env.get(k) || d;
  const dir = env("STACK_DIR", `${root}/.local`);
  return {
    dir: dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`,
    dbPort: Number(env("DB_PORT", "54322")),
    chainPort: Number(env("CHAIN_PORT", "8545")),
    apiPort: Number(env("API_PORT", "54321")),
    // 0: any free port (the URL is in stack.json).
    paystackPort: Number(env("PAYSTACK_API_PORT", "54329")),
    fresh: env("STACK_FRESH", "0") === "1",
    seed: env("STACK_SEED", "1") !== "0",
    cron: env("STACK_CRON", "1") !== "0",
  };
}

function apiKey(role: string) {
  return signJwt(
    { iss: "supabase-demo", role, iat: 1700000000, exp: 2000000000 },
    LOCAL_JWT_SECRET,
  );
}

async function applyMigrations(cluster: Parameters<typeof psql>[0]) {
  await refuseOldLayout(cluster);
  await psql(cluster, ["-f", `${root}/local/supabase-compat.sql`], { admin: true });
  await refuseForeignHistory(cluster);
  // The real CLI applies them, as on hosted Supabase: its history table and statement splitter.
  await pushMigrations(cluster.url);
}

/** A cluster made before supabase_admin became its superuser (postgres was): say so. */
async function refuseOldLayout(cluster: Parameters<typeof psql>[0]) {
  const ok = await psql(cluster, ["-At", "-c", "select 1"], { admin: true }).then(
    () => true,
    () => false,
  );
  if (!ok) {
    throw new Error(
      `this stack's cluster has no ${ADMIN_ROLE} superuser (it predates the hosted-like layout, ` +
        `where postgres is not a superuser): start it once with STACK_FRESH=1`,
    );
  }
}

/**
 * A stack whose database was built from migrations that no longer exist (the development
 * migrations squashed into one baseline) cannot be brought up to date by pushing: say so.
 */
async function refuseForeignHistory(cluster: Parameters<typeof psql>[0]) {
  const applied = (await psql(cluster, [
    "-At",
    "-c",
    `select version from supabase_migrations.schema_migrations
      where to_regclass('supabase_migrations.schema_migrations') is not null`,
  ]).catch(() => "")).split("\n").filter(Boolean);
  const known = new Set(
    [...Deno.readDirSync(`${root}/supabase/migrations`)].map((e) => e.name.slice(0, 14)),
  );
  const foreign = applied.filter((v) => !known.has(v));
  // Or one missing a migration older than its newest: a database built from another history.
  const newest = applied.slice().sort().pop();
  const skipped = newest ? [...known].filter((v) => v < newest && !applied.includes(v)) : [];
  if (foreign.length || skipped.length) {
    throw new Error(
      `this stack's database was built from another migration history ` +
        `(${[...foreign, ...skipped].slice(0, 3).join(", ")}…): start it once with STACK_FRESH=1`,
    );
  }
}

async function registerToken(
  cluster: Parameters<typeof psql>[0],
  token: string,
): Promise<string | null> {
  const has = (await psql(cluster, [
    "-At",
    "-c",
    "select to_regprocedure('public.admin_register_tokenization(text,text,bigint,numeric,text,integer)') is not null",
  ])).trim();
  if (has !== "t") return null;
  const out = await psql(cluster, [
    "-At",
    "-c",
    `set role service_role; select set_config('request.jwt.claims', '{"role":"service_role"}', false);
     select public.register_treasury_address('${new Wallet(LOCAL_TREASURY_KEY).address}')
;
     select public.admin_register_tokenization('${PROPERTY_ID}', '${token}', ${CHAIN_ID}, 1000, 'NGN', 0) ->> 'tokenization_id'`,
  ]);
  return out.trim().split("\n").pop() ?? null;
}

/** Points the pg_cron jobs (through Vault) at this gateway with the service key. */
async function setVaultSecrets(
  cluster: Parameters<typeof psql>[0],
  apiUrl: string,
  serviceKey: string,
) {
  const secrets = { project_url: apiUrl, service_role_key: serviceKey };
  for (const [name, value] of Object.entries(secrets)) {
    await psql(cluster, [
      "-c",
      `delete from vault.secrets where name = '${name}'; select vault.create_secret('${value}', '${name}')`,
    ]);
  }
}

/** The pid of a live stack already using this directory, if any (a stale lock file is ignored). */
function liveOwner(dir: string): number | null {
  try {
    const pid = Number(Deno.readTextFileSync(`${dir}/stack.pid`).trim());
    if (
      pid && pid !== Deno.pid && Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("stack.ts")
    ) return pid;
  } catch { /* no lock, or its process is gone */ }
  return null;
}

export async function startStack(opts: StackOptions) {
  // Two stacks on one directory (or STACK_FRESH under a running one) would destroy its data.
  const owner = liveOwner(opts.dir);
  if (owner) {
    throw new Error(`a stack (pid ${owner}) is already running in ${opts.dir}; stop it first`);
  }
  if (opts.fresh) await Deno.remove(opts.dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(opts.dir, { recursive: true });
  await Deno.writeTextFile(`${opts.dir}/stack.pid`, String(Deno.pid));
  await Deno.chmod(opts.dir, 0o755); // the postgres OS user must reach its data directory
  const stopping: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stopping.reverse()) await s().catch((e) => console.error(String(e)));
    stopping.length = 0;
    await Deno.remove(`${opts.dir}/stack.pid`).catch(() => {});
  };
  try {
    const { cluster } = await ensureCluster(opts.dir, opts.dbPort);
    await startCluster(cluster);
    stopping.push(() => stopCluster(cluster));
    await applyMigrations(cluster);
    // The seed is one transaction; the marker is written only after it committed.
    const seeded = `${opts.dir}/seeded`;
    if (opts.seed && !(await exists(seeded)) && await exists(`${root}/supabase/seed.sql`)) {
      await psql(cluster, ["-f", `${root}/supabase/seed.sql`]);
      await Deno.writeTextFile(seeded, new Date().toISOString());
    }
    if (!opts.cron) await psql(cluster, ["-c", "update cron.job set active = false"]);
    await psql(cluster, ["-c", seedAdminSql()]);

    const anvil = await startAnvil(opts.chainPort, CHAIN_ID, `${opts.dir}/anvil-state.json`);
    stopping.push(() => anvil.stop());
    // Test stacks: the edge functions reach the chain through a node that tests can make fail,
    // rate-limit or lag, with anvil itself as the fallback endpoint (CHAIN_RPC_URL failover).
    const faultProxy = Deno.env.get("ALLOW_FAULT_INJECTION") === "1"
      ? startChainProxy(anvil.url)
      : null;
    if (faultProxy) stopping.push(() => faultProxy.close());
    const rpc = new JsonRpc(anvil.url);
    const tokenFile = `${opts.dir}/token.json`;
    let token: string | null = null;
    if (await exists(tokenFile)) {
      const saved = JSON.parse(await Deno.readTextFile(tokenFile)).token_address as string;
      if ((await rpc.call<string>("eth_getCode", [saved, "latest"])) !== "0x") token = saved;
    }
    if (!token) {
      token = await deployPropertyToken(rpc, CHAIN_ID, LOCAL_TREASURY_KEY);
      await Deno.writeTextFile(tokenFile, JSON.stringify({ token_address: token }));
    }
    const tokenizationId = await registerToken(cluster, token);
    const paystackApi = startPaystackApi(LOCAL_PAYSTACK_SECRET, opts.paystackPort);
    stopping.push(() => paystackApi.close());

    const info: StackInfo = {
      api_url: `http://127.0.0.1:${opts.apiPort}`,
      db_url: cluster.url,
      admin_db_url: cluster.adminUrl,
      chain_rpc_url: anvil.url,
      chain_id: CHAIN_ID,
      anon_key: apiKey("anon"),
      service_role_key: apiKey("service_role"),
      jwt_secret: LOCAL_JWT_SECRET,
      paystack_secret_key: LOCAL_PAYSTACK_SECRET,
      paystack_api_url: paystackApi.url,
      treasury_address: new Wallet(LOCAL_TREASURY_KEY).address,
      treasury_private_key: LOCAL_TREASURY_KEY,
      token_address: token,
      tokenization_id: tokenizationId,
      ...(faultProxy ? { chain_fault_proxy_url: faultProxy.url } : {}),
      console_url: `http://127.0.0.1:${opts.apiPort}/console/`,
      admin_email: LOCAL_ADMIN.email,
      admin_password: LOCAL_ADMIN.password,
      admin_totp_secret: LOCAL_ADMIN.totpSecret,
    };
    const consoleDir = await buildConsole(`${opts.dir}/console`, {
      url: info.api_url,
      anonKey: info.anon_key,
    });
    await setVaultSecrets(cluster, info.api_url, info.service_role_key);

    // The edge functions read their settings from the environment, as on hosted Supabase.
    Deno.env.set("SUPABASE_URL", info.api_url);
    Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", info.service_role_key);
    Deno.env.set("PAYSTACK_SECRET_KEY", info.paystack_secret_key);
    Deno.env.set("PAYSTACK_API_URL", info.paystack_api_url);
    Deno.env.set(
      "CHAIN_RPC_URL",
      faultProxy ? `${faultProxy.url},${info.chain_rpc_url}` : info.chain_rpc_url,
    );
    Deno.env.set("CHAIN_ID", String(CHAIN_ID));
    Deno.env.set("TREASURY_PRIVATE_KEY", LOCAL_TREASURY_KEY);
    const gateway = await startGateway({
      port: opts.apiPort,
      dbUrl: cluster.url,
      jwtSecret: LOCAL_JWT_SECRET,
      consoleDir,
    });
    stopping.push(() => gateway.close());

    const tmp = `${opts.dir}/stack.json.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(info, null, 2) + "\n");
    await Deno.rename(tmp, `${opts.dir}/stack.json`); // atomic: readers never see half a file
    return { info, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

if (import.meta.main) {
  const opts = optionsFromEnv();
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack(opts);
  } catch (e) {
    console.error(`the stack did not start: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
  // A long-running server must survive a library's stray failure: postgres.js reports a connection
  // reset by a Postgres restart as an unhandled rejection. Log it; the pools reconnect on their own.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    console.error(
      JSON.stringify({ level: "error", msg: "unhandled rejection", error: String(e.reason) }),
    );
  });
  // postgres.js can also throw from a timer when a socket closes under it (a Postgres restart).
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    console.error(
      JSON.stringify({
        level: "error",
        msg: "uncaught error",
        error: String(e.error ?? e.message),
      }),
    );
  });

  console.log(JSON.stringify(stack.info, null, 2));
  console.error(`stack ready; descriptor in ${opts.dir}/stack.json (Ctrl-C stops everything)`);
  let done = false;
  const shutdown = async () => {
    if (done) return;
    done = true;
    await Deno.remove(`${opts.dir}/stack.json`).catch(() => {});
    await stack.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", shutdown);
  Deno.addSignalListener("SIGTERM", shutdown);
  // A parent (npm test, bench) that dies without signalling us closes our stdin: stop too, so an
  // ephemeral stack never outlives its owner.
  if (Deno.env.get("STACK_WATCH_STDIN") === "1") {
    (async () => {
      for await (const _ of Deno.stdin.readable) { /* drain until EOF */ }
      await shutdown();
    })();
  }
}
