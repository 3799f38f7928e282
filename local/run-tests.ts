// `npm test`: an ephemeral stack on free ports, pgTAP through pg_prove, then Deno tests, then one
// closing line `N passed, N failed`. Exits non-zero on any failure.
const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const deno = `${root}/node_modules/.bin/deno`;

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
    if (exited) throw new Error("the test stack exited before it was ready");
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the test stack was not ready within ${timeoutMs / 1000}s`);
}

/** Runs a command with its output shown live and kept for counting. */
async function tee(cmd: string, args: string[], env: Record<string, string>) {
  const child = new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "inherit", cwd: root })
    .spawn();
  let text = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    const s = dec.decode(chunk, { stream: true });
    text += s;
    await Deno.stdout.write(chunk);
  }
  const status = await child.status;
  return { text, code: status.code };
}

const filter = Deno.args;
let staticPassed = 0;
let staticFailed = 0;

// Static checks first: formatting, lint and types are part of "every test".
if (filter.length === 0) {
  for (
    const args of [["fmt", "--check"], ["lint"], [
      "check",
      "local",
      "supabase/functions",
      "tests",
      "bench",
    ]]
  ) {
    const out = await new Deno.Command(deno, { args, cwd: root, env: { NO_COLOR: "1" } }).output();
    const ok = out.success;
    console.log(`${ok ? "ok" : "not ok"} - deno ${args.join(" ")}`);
    if (!ok) {
      console.log(new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout));
    }
    staticPassed += ok ? 1 : 0;
    staticFailed += ok ? 0 : 1;
  }
}
const dir = await Deno.makeTempDir({ prefix: "payout-test-stack-" });
const stackEnv = {
  STACK_DIR: dir,
  STACK_FRESH: "1",
  STACK_SEED: "0",
  STACK_CRON: "0",
  DB_PORT: String(freePort()),
  CHAIN_PORT: String(freePort()),
  API_PORT: String(freePort()),
};
console.log(`[test] starting an ephemeral stack in ${dir}`);
const stack = new Deno.Command(deno, {
  args: ["run", "-A", `${root}/local/stack.ts`],
  env: stackEnv,
  stdout: "null",
  stderr: "inherit",
}).spawn();

let passed = staticPassed;
let failed = staticFailed;
try {
  const info = JSON.parse(await waitForFile(`${dir}/stack.json`, stack, 120_000));
  const pg = ["-h", "127.0.0.1", "-p", stackEnv.DB_PORT, "-U", "postgres", "-d", "postgres"];

  // Test-only helpers (pgTAP, tests.authenticate_as...): never part of a deployment.
  const setup = await new Deno.Command("psql", {
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...pg, "-f", `${root}/supabase/tests/setup.sql`],
  }).output();
  if (!setup.success) throw new Error(new TextDecoder().decode(setup.stderr));

  const sqlFiles = [...Deno.readDirSync(`${root}/supabase/tests/database`)]
    .map((e) => e.name).filter((n) => n.endsWith(".test.sql"))
    .filter((n) => filter.length === 0 || filter.some((f) => n.includes(f))).sort()
    .map((n) => `supabase/tests/database/${n}`);
  if (sqlFiles.length) {
    console.log(`[test] pgTAP: ${sqlFiles.length} files`);
    const r = await tee("pg_prove", ["--verbose", ...pg, ...sqlFiles], {});
    const ok = (r.text.match(/^\s*ok \d+/gm) ?? []).length;
    const notOk = (r.text.match(/^\s*not ok \d+/gm) ?? []).length;
    passed += ok;
    failed += notOk + (r.code !== 0 && notOk === 0 ? 1 : 0);
  }

  const denoTargets = ["tests", "supabase/functions", "local"];
  const denoFilter = filter.length ? ["--filter", filter.join("|")] : [];
  console.log(`[test] deno test`);
  const r = await tee(deno, ["test", "-A", "--no-check", ...denoFilter, ...denoTargets], {
    NO_COLOR: "1",
    STACK_JSON: `${dir}/stack.json`,
    ...Object.fromEntries(
      Object.entries(info).map(([k, v]) => [`STACK_${k.toUpperCase()}`, String(v)]),
    ),
  });
  // deno's summary: "ok | 12 passed (3 steps) | 0 failed (1s)"
  const m = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(
    r.text,
  );
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  if (r.code !== 0 && (!m || Number(m[2]) === 0)) failed += 1;
} catch (e) {
  console.error(`[test] ${e instanceof Error ? e.message : e}`);
  failed += 1;
} finally {
  try {
    stack.kill("SIGTERM");
  } catch { /* gone */ }
  await stack.status;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 && passed > 0 ? 0 : 1);
