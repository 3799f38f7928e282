// A catch-up: K slots due at once (declared late, or the executor was down) over N stakes.
// Three ways to pay the same K slots on the same stakes, each on its own day:
//  - in parts: execute_due_slots called as pg_cron calls it (2-minute timeout, 60 s budget) until
//    every slot is COMPLETED; all K are paid together, part by part (the design);
//  - whole: one call with one part as large as every stake (all K in one statement, no limit);
//  - K calls: one execute_due_slots call per slot, as a cron tick per slot would.
import type postgres from "postgres";
import { addStakes, payInCalls } from "./ros-slot.ts";
import { settle, timed } from "./settle.ts";

export type CatchUpResult = {
  stakes: number;
  slots: number;
  partsMs: number;
  partsCalls: number;
  wholeMs: number;
  callsMs: number;
};

function slotTime(date: string, j: number): string {
  return `${date}T10:${String(j).padStart(2, "0")}:00+01:00`;
}

async function queue(sql: postgres.Sql, date: string, k: number) {
  const slots = Array.from({ length: k }, (_, i) => ({
    slot_number: i + 1,
    ros_percentage: 0.1,
    scheduled_for: slotTime(date, i + 1),
  }));
  await sql.unsafe(
    `select public.admin_queue_distribution('${date}', '${JSON.stringify(slots)}'::jsonb)`,
  );
}

async function assertPaid(sql: postgres.Sql, date: string, k: number, n: number) {
  const [{ done, paid }] = await sql.unsafe(
    `select count(*) filter (where status = 'COMPLETED')::int as done,
            coalesce(sum(users_processed), 0)::int as paid
       from app.ros_slots where distribution_date = '${date}'`,
  );
  if (done !== k || paid !== k * n) {
    throw new Error(`${date}: ${done} of ${k} slots completed, ${paid} of ${k * n} payouts`);
  }
}

export async function benchCatchUp(
  sql: postgres.Sql,
  n: number,
  k: number,
  dates: [string, string, string],
): Promise<CatchUpResult> {
  const [partsDay, wholeDay, callsDay] = dates;
  await addStakes(sql, n, partsDay);
  for (const d of dates) await queue(sql, d, k);
  await settle(sql);

  const parts = await payInCalls(
    sql,
    slotTime(partsDay, k),
    `select count(*) > 0 from app.ros_slots where distribution_date = '${partsDay}' and status <> 'COMPLETED'`,
  );
  await assertPaid(sql, partsDay, k, n);
  await settle(sql);

  await sql.unsafe(`update app.settings set value = '${n + 1}' where key = 'ros_part_stakes'`);
  const wholeMs = await timed(sql, `select public.execute_due_slots('${slotTime(wholeDay, k)}')`);
  await sql.unsafe(`update app.settings set value = '50000' where key = 'ros_part_stakes'`);
  await assertPaid(sql, wholeDay, k, n);
  await settle(sql);

  let callsMs = 0;
  for (let j = 1; j <= k; j++) {
    callsMs += await timed(sql, `select public.execute_due_slots('${slotTime(callsDay, j)}')`);
  }
  await assertPaid(sql, callsDay, k, n);
  return { stakes: n, slots: k, partsMs: parts.ms, partsCalls: parts.calls, wholeMs, callsMs };
}
