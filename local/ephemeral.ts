// An ephemeral stack (temp dir, free ports, no seed, cron off) for tests and benchmarks.
import type { StackInfo } from "./stack.ts";
import { killCluster } from "./stack/postgres.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const deno = `${root}/node_modules/.bin/deno`;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForFile(path: string, child: Deno.ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < deadline) {
    try {
      return await Deno.readTextFile(path);
    } catch { /* not yet */ }
    if (exited) throw new Error("the ephemeral stack exited before it was ready");
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the ephemeral stack was not ready within ${timeoutMs / 1000}s`);
}

/** If the stack process died instead of stopping, its Postgres and anvil may still run: stop them. */
async function reapLeftovers(dir: string) {
  if (await Deno.stat(`${dir}/pg/postmaster.pid`).then(() => true, () => false)) {
    await killCluster(dir);
  }
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      if (cmd.includes("anvil") && cmd.includes(dir)) Deno.kill(Number(entry.name), "SIGKILL");
    } catch { /* gone */ }
  }
}

export async function startEphemeralStack(
  extraEnv: Record<string, string> = {},
  opts: { dir?: string; keepDir?: boolean } = {},
) {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "payout-stack-" });
  const env = {
    STACK_DIR: dir,
    STACK_FRESH: opts.dir ? "0" : "1",
    STACK_SEED: "0",
    STACK_CRON: "0",
    DB_PORT: String(freePort()),
    CHAIN_PORT: String(freePort()),
    API_PORT: String(freePort()),
    PAYSTACK_API_PORT: "0",
    STACK_WATCH_STDIN: "1",
    ALLOW_FAULT_INJECTION: "1", // test stacks only: lets tests crash functions at named points
    RPC_RESULTS_STRICT: "1", // test stacks only: an RPC answer with a key its schema lacks fails
    ...extraEnv,
  };
  const child = new Deno.Command(deno, {
    args: ["run", "-A", `${root}/local/stack.ts`],
    env,
    stdin: "piped",
    stdout: Deno.env.get("STACK_LOG") ? "inherit" : "null",
    stderr: "inherit",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
    await reapLeftovers(dir);
    if (!opts.keepDir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const info: StackInfo = JSON.parse(await waitForFile(`${dir}/stack.json`, child, 120_000));
    return { info, dir, env, stop, stackJson: `${dir}/stack.json`, pid: child.pid };
  } catch (e) {
    await stop();
    throw e;
  }
}
