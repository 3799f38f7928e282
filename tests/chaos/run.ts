// `npm run chaos -- --seeds N [--from S] [--steps K]`: random, seeded schedules of investors,
// webhooks (duplicates, retries, underpayments), concurrent distribute-tokens workers, reconciler
// runs, ROS slot executions and admin slot changes, with faults injected at named points (crashes,
// a database error on confirm, dropped transactions, paused mining, a Postgres restart). After each
// schedule, recovery runs, then every invariant of ARCHITECTURE.md is checked. A failing seed is
// printed; `--from S --seeds 1` replays it.
import { dirname } from "node:path";
import { startEphemeralStack } from "../../local/ephemeral.ts";
import { prng } from "./prng.ts";
import { schedule } from "./schedule.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}
const seeds = Number(arg("--seeds", "20"));
const from = Number(arg("--from", "1"));
const steps = Number(arg("--steps", "40"));

let owned: Awaited<ReturnType<typeof startEphemeralStack>> | null = null;
if (!Deno.env.get("STACK_JSON")) {
  owned = await startEphemeralStack();
  Deno.env.set("STACK_JSON", owned.stackJson);
}
const stackDir = dirname(Deno.env.get("STACK_JSON")!);
// Imported after STACK_JSON is known: the helpers read the stack descriptor at load time.
const { runSchedule } = await import("./execute.ts");

let passed = 0;
let failed = 0;
try {
  for (let seed = from; seed < from + seeds; seed++) {
    const t = performance.now();
    const plan = schedule(prng(seed), steps);
    const violations = await runSchedule(seed, plan, stackDir).catch((
      e,
    ) => [`harness error: ${e?.stack ?? e}`]);
    const ms = (performance.now() - t).toFixed(0);
    if (violations.length === 0) {
      passed++;
      console.log(`ok - chaos seed ${seed} (${plan.length} steps, ${ms} ms)`);
    } else {
      failed++;
      console.log(
        `not ok - chaos seed ${seed} (${ms} ms): replay with --from ${seed} --seeds 1 --steps ${steps}`,
      );
      for (const v of violations) console.log(`#   ${v}`);
    }
  }
} finally {
  await owned?.stop();
}
console.log(`chaos: ${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);
