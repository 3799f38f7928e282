// `npm test`: an ephemeral stack on free ports, pgTAP through pg_prove, then Deno tests, then one
// closing line `N passed, N failed`. Exits non-zero on any failure.
import { deno, startEphemeralStack } from "./ephemeral.ts";
import { schemaChecks } from "./db/checks.ts";
import { ADMIN_ROLE } from "./stack/postgres.ts";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory && e.name !== "node_modules") out.push(...testFiles(p));
    else if (e.name.endsWith(".test.ts")) out.push(p);
  }
  return out.sort();
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

// The stack boots while the static checks run.
console.log("[test] starting an ephemeral stack");
const stackPromise = startEphemeralStack();
stackPromise.catch(() => {});

// Static checks first: formatting, lint and types are part of "every test".
if (filter.length === 0) {
  for (
    const args of [["fmt", "--check"], ["lint"], [
      "check",
      "local",
      "supabase/functions",
      "tests",
      "bench",
      "console",
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
let stack: Awaited<typeof stackPromise> | null = null;
let passed = staticPassed;
let failed = staticFailed;
try {
  stack = await stackPromise;
  // pgTAP runs as postgres, which is not a superuser here, as on hosted Supabase; only the
  // test-only setup (it installs pgTAP) runs as the local superuser.
  const at = ["-h", "127.0.0.1", "-p", stack.env.DB_PORT, "-d", "postgres"];
  const pg = [...at, "-U", "postgres"];
  const admin = [...at, "-U", ADMIN_ROLE];

  // The schema checks build their own databases (local/db/checks.ts).
  if (filter.length === 0 || filter.includes("schema")) {
    console.log("[test] schema checks (Supabase CLI: db diff, lint, advisors, gen types; squawk)");
    for (const c of await schemaChecks()) {
      console.log(`${c.ok ? "ok" : "not ok"} - ${c.name}`);
      if (!c.ok) console.log(c.detail.split("\n").map((l) => `  ${l}`).join("\n"));
      passed += c.ok ? 1 : 0;
      failed += c.ok ? 0 : 1;
    }
  }

  // Test-only helpers (pgTAP, tests.authenticate_as...): never part of a deployment.
  const setup = await new Deno.Command("psql", {
    args: ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...admin, "-f", `${root}/supabase/tests/setup.sql`],
    cwd: root, // setup.sql reads tests/fixtures/ from the repository root
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

  const denoTargets = ["tests", "supabase/functions", "local", "console"].flatMap((d) =>
    testFiles(`${root}/${d}`)
  )
    .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
  console.log(`[test] deno test: ${denoTargets.length} files`);
  const r = await tee(deno, ["test", "-A", "--no-check", ...denoTargets], {
    NO_COLOR: "1",
    STACK_JSON: stack.stackJson,
    RPC_RESULTS_STRICT: "1",
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

  // A few chaos seeds on the same stack (last: they restart its Postgres). `npm run chaos` runs more.
  if (filter.length === 0 || filter.includes("chaos")) {
    const seeds = Deno.env.get("CHAOS_SEEDS") ?? "8";
    console.log(`[test] chaos: ${seeds} seeds`);
    const c = await tee(deno, [
      "run",
      "-A",
      "tests/chaos/run.ts",
      "--seeds",
      seeds,
      "--steps",
      "40",
    ], {
      NO_COLOR: "1",
      STACK_JSON: stack.stackJson,
      RPC_RESULTS_STRICT: "1",
    });
    const cm = /chaos: (\d+) passed, (\d+) failed/.exec(c.text);
    passed += Number(cm?.[1] ?? 0);
    failed += Number(cm?.[2] ?? 0) + (cm ? 0 : 1);
  }
} catch (e) {
  console.error(`[test] ${e instanceof Error ? e.message : e}`);
  failed += 1;
} finally {
  await (stack ?? await stackPromise.catch(() => null))?.stop();
}
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 && passed > 0 ? 0 : 1);
