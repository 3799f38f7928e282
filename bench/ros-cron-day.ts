// A day of K slots over N stakes paid by pg_cron alone: the executor's cron job is the only thing
// that calls execute_due_slots (every minute, under the 2-minute statement timeout of everything
// but anon and authenticated), slot j due j minutes after the start. Measured: how late each slot
// completed after it was due, how many cron runs it took and how long the longest ran (against
// 120 s), and that every (stake, slot) was paid exactly once with the ledger balanced. Then the
// ROS admin reads of the console at this size, as an admin (authenticated: cut at 8 s).
import type postgres from "postgres";
import type { StackInfo } from "../local/stack.ts";
import { type AdminRead, adminReads } from "./admin-reads.ts";
import { addStakes } from "./ros-slot.ts";
import { settle } from "./settle.ts";

export type CronDayResult = {
  stakes: number;
  slots: number;
  /** From the first slot due to the last one COMPLETED. */
  dayMs: number;
  /** The longest a slot waited after it was due until it was COMPLETED. */
  maxLagMs: number;
  runs: number;
  failedRuns: number;
  longestRunMs: number;
  payouts: number;
  reads: AdminRead[];
};

const JOB = "ros-execute-due-slots";

export async function benchCronDay(
  sql: postgres.Sql,
  stack: StackInfo,
  n: number,
  k: number,
): Promise<CronDayResult> {
  const [{ date, start, left }] = await sql`
    select (now() at time zone app.setting('business_time_zone'))::date::text as date,
           date_trunc('minute', now()) + interval '2 minutes' as start,
           extract(epoch from (date_trunc('day', now() at time zone app.setting('business_time_zone'))
             + interval '1 day') - (now() at time zone app.setting('business_time_zone')))::int as left`;
  if (left < (k + 60) * 60) throw new Error("too close to the business day's end: run it later");
  await addStakes(sql, n, date);
  const slots = Array.from({ length: k }, (_, j) => ({
    slot_number: j + 1,
    ros_percentage: "0.1",
    scheduled_for: new Date(start.getTime() + j * 60_000).toISOString(),
  }));
  await sql`select public.admin_queue_distribution(${date}::date, ${sql.json(slots)})`;
  await settle(sql);
  await sql`update cron.job set active = (jobname = ${JOB})`;
  try {
    const deadline = Date.now() + (k * 4 + 20) * 60_000;
    for (;;) {
      const [{ open, failed }] = await sql`
        select count(*) filter (where status not in ('COMPLETED', 'FAILED'))::int as open,
               count(*) filter (where status = 'FAILED')::int as failed
          from app.ros_slots where distribution_date = ${date}::date`;
      if (failed > 0) throw new Error(`${failed} slots FAILED`);
      if (open === 0) break;
      if (Date.now() > deadline) throw new Error(`${open} slots still open at the deadline`);
      await new Promise((r) => setTimeout(r, 5_000));
    }
  } finally {
    await sql`update cron.job set active = false`;
  }
  const [day] = await sql`
    select extract(epoch from max(executed_at) - min(scheduled_for)) * 1000 as day_ms,
           extract(epoch from max(executed_at - scheduled_for)) * 1000 as max_lag_ms,
           sum(users_processed)::bigint as processed
      from app.ros_slots where distribution_date = ${date}::date`;
  const [runs] = await sql`
    select count(*)::int as runs, count(*) filter (where d.status <> 'succeeded')::int as failed,
           coalesce(extract(epoch from max(d.end_time - d.start_time)) * 1000, 0) as longest_ms
      from cron.job_run_details d join cron.job j using (jobid)
     where j.jobname = ${JOB} and d.start_time >= ${start}::timestamptz - interval '1 minute'`;
  const [paid] = await sql`
    select count(*)::bigint as payouts,
           count(distinct (stake_id, slot_number))::bigint as distinct_payouts,
           (select coalesce(sum(e.amount), 0) from app.ledger_entries e
              join app.ledger_transactions t on t.id = e.transaction_id
             where t.idempotency_key like 'ros:slot:%') as ledger_sum
      from app.ros_payouts where distribution_date = ${date}::date`;
  const expected = BigInt(n) * BigInt(k);
  if (
    BigInt(paid.payouts) !== expected || BigInt(paid.distinct_payouts) !== expected ||
    BigInt(day.processed) !== expected || Number(paid.ledger_sum) !== 0
  ) {
    throw new Error(`not exactly once: ${JSON.stringify({ ...paid, processed: day.processed })}`);
  }
  const reads = await adminReads(stack, [
    ["admin_distribution_status", "admin_distribution_status", { p_distribution_date: date }],
    ["admin_distribution_history (the day)", "admin_distribution_history", {
      p_from: date,
      p_to: date,
    }],
    ["admin_ros_alerts", "admin_ros_alerts", {}],
    ["admin_overview", "admin_overview", {}],
    ["admin_retry_slot (a COMPLETED slot: pays 0)", "admin_retry_slot", {
      p_distribution_date: date,
      p_slot_number: 1,
    }],
    ["admin_audit_log (200)", "admin_audit_log", { p_limit: 200 }],
    ["admin_alert_log (200)", "admin_alert_log", { p_limit: 200 }],
  ]);
  return {
    stakes: n,
    slots: k,
    dayMs: Number(day.day_ms),
    maxLagMs: Number(day.max_lag_ms),
    runs: runs.runs,
    failedRuns: runs.failed,
    longestRunMs: Number(runs.longest_ms),
    payouts: Number(paid.payouts),
    reads,
  };
}
