// A catch-up: K slots due at once (declared late, or the executor was down) over N stakes.
// Three ways to run the same K slots on the same stakes, each on its own day:
//  - batch: one execute_due_slots call, which pays all K in one pass (the design);
//  - one by one in one transaction: app.run_slot per slot, the batch's fall-back path, and what
//    execute_due_slots did before the batch (every slot rewrites every stake and wallet again, and
//    none of those versions can be pruned before the transaction ends);
//  - K calls: one execute_due_slots call per slot, as a cron tick per slot would.
import type postgres from "postgres";
import { addStakes } from "./ros-slot.ts";
import { settle, timed } from "./settle.ts";

export type CatchUpResult = {
  stakes: number;
  slots: number;
  batchMs: number;
  oneTransactionMs: number;
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
  const [batchDay, oneTxDay, callsDay] = dates;
  await addStakes(sql, n, batchDay);
  for (const d of dates) await queue(sql, d, k);
  await settle(sql);

  const batchMs = await timed(sql, `select public.execute_due_slots('${slotTime(batchDay, k)}')`);
  await assertPaid(sql, batchDay, k, n);
  await settle(sql);

  const oneTransactionMs = await timed(
    sql,
    `do $$
     declare v_slot bigint;
     begin
       for v_slot in select id from app.ros_slots where distribution_date = '${oneTxDay}'
                      order by slot_number loop
         perform app.run_slot(v_slot, false);
       end loop;
     end $$`,
  );
  await assertPaid(sql, oneTxDay, k, n);
  await settle(sql);

  let callsMs = 0;
  for (let j = 1; j <= k; j++) {
    callsMs += await timed(sql, `select public.execute_due_slots('${slotTime(callsDay, j)}')`);
  }
  await assertPaid(sql, callsDay, k, n);
  return { stakes: n, slots: k, batchMs, oneTransactionMs, callsMs };
}
