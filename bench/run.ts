// `npm run bench`: every benchmark beside its baselines, on an ephemeral stack, as one table.
//   npm run bench -- --ros-sizes 10000,100000,1000000 --catch-up 100000,10 --webhook 1000
//                    --holders 100000 --cron-day 1000000,10
//                    --only ros|catch-up|cron-day|tokens|finality|webhook|reconcile
import postgres from "postgres";
import { startEphemeralStack } from "../local/ephemeral.ts";
import { benchCatchUp } from "./ros-catch-up.ts";
import { benchCronDay } from "./ros-cron-day.ts";
import { benchRosSlot } from "./ros-slot.ts";
import { benchFinality } from "./token-finality.ts";
import { benchReconcile } from "./reconcile.ts";
import { printReads } from "./admin-reads.ts";
import { arrange, benchTokens, type CallCost, distributeCall } from "./token-distribution.ts";
import { benchWebhook, PACED_PER_SECOND } from "./webhook.ts";

/** What the calls before call i claimed. */
const sumClaimed = (calls: CallCost[], i: number) =>
  calls.slice(0, i).reduce((s, c) => s + c.claimed, 0);

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const rosSizes = arg("--ros-sizes", "10000,100000,1000000").split(",").map(Number);
const loopMax = Number(arg("--loop-max", "100000"));
const tokenN = Number(arg("--tokens", "1000"));
const [catchUpN, catchUpK] = arg("--catch-up", "100000,10").split(",").map(Number);
const [cronDayN, cronDayK] = arg("--cron-day", "1000000,10").split(",").map(Number);
const only = arg("--only", "all");
const webhookN = Number(arg("--webhook", "1000"));
const holdersN = Number(arg("--holders", "100000"));

const stack = await startEphemeralStack();
// The local superuser: the benchmarks checkpoint between runs (local-only tooling).
const sql = postgres(stack.info.admin_db_url, { max: 1, onnotice: () => {} });
try {
  if (only === "all" || only === "tokens") {
    const r = await benchTokens(sql, stack.info, tokenN, 200);
    console.log(
      `\nToken distribution: ${r.n} investments end to end (distribute-tokens via the gateway)`,
    );
    console.log(
      "| pipeline (tx/s) | sequential, 25 ms polling (tx/s) | pipeline / it | sequential, 2 ms polling (tx/s) | pipeline / it | raw pipelined ceiling, no DB (tx/s) |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|");
    console.log(
      `| ${r.pipelineTps.toFixed(0)} (${r.confirmed} confirmed) | ${
        r.sequentialTypicalTps.toFixed(1)
      } | ${(r.pipelineTps / r.sequentialTypicalTps).toFixed(1)}x | ${
        r.sequentialTps.toFixed(1)
      } | ${(r.pipelineTps / r.sequentialTps).toFixed(1)}x | ${r.rawTps.toFixed(0)} |`,
    );
    // One call of 200 beside the calls above, each against the edge runtime's limits.
    await arrange(sql, stack.info, 200);
    const small = await distributeCall(stack.info, { limit: 200, receipt_timeout_ms: 60_000 });
    await sql`update app.settings set value = 'on' where key = 'auto_distribute'`;
    console.log("\ndistribute-tokens calls against the edge runtime's limits (2 s CPU, 150 s)");
    console.log("| limit asked | claimed | CPU (ms) | of 2,000 | wall (s) | more |");
    console.log("|---:|---:|---:|---:|---:|---|");
    const asked = [200, ...r.calls.map((_, i) => Math.min(r.n - sumClaimed(r.calls, i), 1000))];
    [small.cost, ...r.calls].forEach((c, i) =>
      console.log(
        `| ${asked[i]} | ${c.claimed} | ${c.cpuMs} | ${(c.cpuMs / 20).toFixed(0)} % | ${
          (c.ms / 1000).toFixed(1)
        } | ${c.more ? "yes" : "no"} |`,
      )
    );
  }
  if (only === "all" || only === "finality") {
    const r = await benchFinality(sql, stack.info, tokenN);
    console.log(
      `\nToken distribution at a chain's pace: ${r.n} transfers, a block every ${r.blockSeconds} s, min_confirmations ${r.minConfirmations}`,
    );
    console.log(
      "| all final (s) | chain floor (s) | / floor | gas per transfer | blocks used | confirmed |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|");
    console.log(
      `| ${r.seconds.toFixed(1)} | ${r.floorSeconds.toFixed(1)} | ${
        (r.seconds / r.floorSeconds).toFixed(2)
      }x | ${r.gasPerTransfer} | ${r.blocksUsed} | ${r.confirmed} of ${r.n} |`,
    );
  }
  if (only === "all" || only === "webhook") {
    const r = await benchWebhook(sql, stack.info, webhookN);
    console.log(
      `\nPaystack webhook: ${r.events} signed events (charges and refunds), each delivered 3 times, 32 senders`,
    );
    console.log(
      "| | requests | per second | p50 (ms) | p99 (ms) |\n|---|---:|---:|---:|---:|",
    );
    for (
      const [name, x] of [
        ["webhook, 32 senders each sending again at its answer (the most it takes)", r.webhook],
        [`webhook, deliveries due at ${PACED_PER_SECOND}/s (the goal's rate)`, r.paced],
        ["(not measured: its warm-up, a tenth as many, right after start)", r.warmup],
        ["baseline: health", r.health],
        ["baseline: record_paystack_event from 32 database connections", r.database],
      ] as const
    ) {
      console.log(
        `| ${name} | ${x.requests} | ${x.perSecond.toFixed(0)} | ${x.p50.toFixed(1)} | ${
          x.p99.toFixed(1)
        } |`,
      );
    }
    console.log(
      `events applied twice: ${r.doubleApplied}; deliveries not answered 200: ${r.failed}`,
    );
  }
  if (only === "all" || only === "ros") {
    console.log("\nROS: one slot (0.5 %) over N stakes, paid in parts by pg_cron's calls");
    console.log(
      "| stakes | slot in parts (ms) | calls / parts | whole (ms) | parts / whole | floor (ms) | slot / floor | loop (ms) | loop / slot | µs per stake |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let day = 1;
    for (const n of rosSizes) {
      const date = `2040-01-${String(day++).padStart(2, "0")}`;
      const r = await benchRosSlot(sql, n, date, n <= loopMax);
      console.log(
        `| ${n} | ${r.slotMs.toFixed(0)} | ${r.calls} / ${r.parts} | ${r.wholeMs.toFixed(0)} | ${
          (r.slotMs / r.wholeMs).toFixed(2)
        }x | ${r.floorMs.toFixed(0)} | ${(r.slotMs / r.floorMs).toFixed(2)}x | ${
          r.loopMs === null ? "n/a" : r.loopMs.toFixed(0)
        } | ${r.loopMs === null ? "n/a" : (r.loopMs / r.slotMs).toFixed(1) + "x"} | ${
          (r.slotMs * 1000 / n).toFixed(1)
        } |`,
      );
    }
  }
  if (only === "all" || only === "catch-up") {
    const r = await benchCatchUp(sql, catchUpN, catchUpK, [
      "2041-01-01",
      "2041-01-02",
      "2041-01-03",
    ]);
    console.log(`\nROS catch-up: ${r.slots} slots due at once over ${r.stakes} stakes`);
    console.log(
      "| in parts, pg_cron's calls (ms) | calls | whole, one statement (ms) | parts / whole | one call per slot (ms) | / whole |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|");
    console.log(
      `| ${r.partsMs.toFixed(0)} | ${r.partsCalls} | ${r.wholeMs.toFixed(0)} | ${
        (r.partsMs / r.wholeMs).toFixed(2)
      }x | ${r.callsMs.toFixed(0)} | ${(r.callsMs / r.wholeMs).toFixed(1)}x |`,
    );
  }
  if (only === "all" || only === "cron-day") {
    const r = await benchCronDay(sql, stack.info, cronDayN, cronDayK);
    console.log(
      `\nROS day through pg_cron alone: ${r.slots} slots a minute apart over ${r.stakes} stakes`,
    );
    console.log(
      "| day (s) | slot done after due, max (s) | cron runs | failed runs | longest run (s of 120) | payouts, each once |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|");
    console.log(
      `| ${(r.dayMs / 1000).toFixed(0)} | ${
        (r.maxLagMs / 1000).toFixed(0)
      } | ${r.runs} | ${r.failedRuns} | ${(r.longestRunMs / 1000).toFixed(1)} | ${r.payouts} |`,
    );
    printReads(`Admin reads at ${r.stakes} stakes (authenticated: cut at 8 s)`, r.reads);
  }
  if (only === "all" || only === "reconcile") {
    const r = await benchReconcile(sql, stack.info, holdersN);
    const cpu = r.calls.map((c) => c.cpuMs);
    const wall = r.calls.map((c) => c.ms / 1000);
    console.log(
      `\nReconciler: one audit pass over ${r.holders} holders, calls as pg_cron makes them`,
    );
    console.log(
      "| calls | holders per call | CPU per call, max (ms of 2,000) | wall per call, max (s of 150) | pass (s) | balanceOf alone, no DB (s) | pass / it |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|");
    console.log(
      `| ${r.calls.length} | ${Math.round(r.holders / r.calls.length)} | ${Math.max(...cpu)} | ${
        Math.max(...wall).toFixed(1)
      } | ${(r.passMs / 1000).toFixed(1)} | ${(r.baselineMs / 1000).toFixed(1)} | ${
        (r.passMs / r.baselineMs).toFixed(1)
      }x |`,
    );
    printReads(`Admin reads at ${r.holders} holders (authenticated: cut at 8 s)`, r.reads);
  }
} finally {
  await sql.end();
  await stack.stop();
}
