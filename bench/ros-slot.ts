// One ROS slot over N stakes, paid as pg_cron pays it (repeated execute_due_slots calls, each in
// parts within its budget under the 2-minute statement timeout), beside three baselines measured
// in the same run on the same data:
//  - whole: the same slot paid in one part (one statement), as if there were no limit;
//  - floor: the same rows written set-based into bare tables (one payout and two ledger entries
//    per stake, one wallet and one stake update), no constraints, no indexes (logged, like the real ones);
//  - loop: the old system's row-by-row PL/pgSQL loop over the real tables.
// Every timed statement starts from the same state: tables vacuumed and analyzed (so autovacuum
// has nothing left to start in the middle of a measurement) and a fresh checkpoint (so each one
// pays the same full-page writes).
import type postgres from "postgres";
import { settle, timed } from "./settle.ts";

export type RosResult = {
  stakes: number;
  slotMs: number;
  calls: number;
  parts: number;
  wholeMs: number;
  floorMs: number;
  loopMs: number | null;
};

/** Calls execute_due_slots as pg_cron does (2-minute timeout) until the slot is COMPLETED; the
 * milliseconds of all calls and how many calls it took. */
export async function payInCalls(
  sql: postgres.Sql,
  now: string,
  done: string,
): Promise<{ ms: number; calls: number }> {
  await sql.unsafe("set statement_timeout = '2min'");
  let ms = 0;
  for (let calls = 1; calls <= 1000; calls++) {
    ms += await timed(sql, `select public.execute_due_slots('${now}')`);
    const [{ open }] = await sql.unsafe(`select (${done}) as open`);
    if (!open) return { ms, calls };
  }
  throw new Error("the slot was not paid in 1,000 calls");
}

/** n new users, each with one 100.00 stake created at the start of `date`; older stakes are
 * cancelled so that only these are paid. Bulk inserts, not RPCs. */
export async function addStakes(sql: postgres.Sql, n: number, date: string) {
  await sql.unsafe(`
    update app.stakes set status = 'cancelled' where status = 'active';
    create temp table bench_users on commit drop as select gen_random_uuid() as id from generate_series(1, ${n});
    insert into auth.users (id, email) select id, id || '@bench.test' from bench_users;
    -- A separate statement: the wallets made by the signup trigger are visible only from here.
    insert into app.stakes (user_id, earnings_account_id, amount, created_at)
    select a.user_id, a.id, 100.00, '${date}T00:00:00+01:00'
      from bench_users u join app.accounts a on a.user_id = u.id and a.kind = 'earnings';
`);
}

/** Fresh data: n users, each with one 100.00 stake created before the slot. */
async function arrange(sql: postgres.Sql, n: number, date: string) {
  await addStakes(sql, n, date);
  await sql.unsafe(`select public.admin_queue_distribution('${date}',
    '[{"slot_number":1,"ros_percentage":0.5,"scheduled_for":"${date}T12:00:00+01:00"},
      {"slot_number":3,"ros_percentage":0.5,"scheduled_for":"${date}T14:00:00+01:00"}]'::jsonb)`);
  await settle(sql);
}

const FLOOR = `
  drop table if exists bench_floor_payouts, bench_floor_entries, bench_floor_wallets, bench_floor_stakes;
  create table bench_floor_payouts (stake_id uuid, user_id uuid, d date, slot int, amount numeric)
    with (autovacuum_enabled = false);
  create table bench_floor_entries (tx bigint, account_id bigint, amount numeric)
    with (autovacuum_enabled = false);
  create table bench_floor_wallets with (autovacuum_enabled = false) as
    select id, user_id, balance from app.accounts where kind = 'earnings';
  create table bench_floor_stakes with (autovacuum_enabled = false) as
    select id, user_id, amount, total_earned from app.stakes where status = 'active';
  analyze bench_floor_wallets; analyze bench_floor_stakes;
  checkpoint;
`;
const FLOOR_DROP =
  "drop table bench_floor_payouts, bench_floor_entries, bench_floor_wallets, bench_floor_stakes";

const FLOOR_RUN = (date: string) => `
  with p as (
    insert into bench_floor_payouts
    select s.id, s.user_id, '${date}', 1, floor(s.amount * 0.5) / 100 from bench_floor_stakes s
    returning stake_id, user_id, amount
  ), e1 as (
    insert into bench_floor_entries select 1, w.id, p.amount from p join bench_floor_wallets w using (user_id)
  ), e2 as (
    insert into bench_floor_entries select 1, 0, -p.amount from p
  ), w as (
    update bench_floor_wallets w set balance = w.balance + p.amount from p where w.user_id = p.user_id
  )
  update bench_floor_stakes s set total_earned = s.total_earned + p.amount from p where s.id = p.stake_id`;

const LOOP = (date: string) => `
  do $$
  declare r record; v_tx bigint;
  begin
    for r in select s.id, s.user_id, floor(s.amount * 0.5) / 100 as amount from app.stakes s
              where s.status = 'active' and s.created_at <= '${date}T13:00:00+01:00' loop
      if not exists (select 1 from app.ros_payouts where stake_id = r.id and distribution_date = '${date}' and slot_number = 2) then
        insert into app.ledger_transactions (idempotency_key, kind) values ('loop:' || r.id, 'ros_payout') returning id into v_tx;
        insert into app.ros_payouts (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
          values (r.id, r.user_id, '${date}', 2, app.account_id(r.user_id, 'earnings'), r.amount, v_tx);
        insert into app.ledger_entries (transaction_id, account_id, amount)
          values (v_tx, app.account_id(r.user_id, 'earnings'), r.amount),
                 (v_tx, app.account_id(null, 'platform_ros_expense'), -r.amount);
        update app.accounts set balance = balance + r.amount where user_id = r.user_id and kind = 'earnings';
        update app.stakes set total_earned = total_earned + r.amount where id = r.id;
      end if;
    end loop;
    -- The platform side once at the end: per-row updates of one hot row would make the baseline
    -- quadratic (a HOT chain per transaction), which would flatter the set-based design.
  end $$`;

export async function benchRosSlot(
  sql: postgres.Sql,
  n: number,
  date: string,
  withLoop: boolean,
): Promise<RosResult> {
  await arrange(sql, n, date);
  await sql.unsafe(FLOOR);
  const floorMs = await timed(sql, FLOOR_RUN(date));
  await sql.unsafe(FLOOR_DROP);
  await settle(sql);
  const slot = (k: number) =>
    `from app.ros_slots where distribution_date = '${date}' and slot_number = ${k}`;
  const inParts = await payInCalls(
    sql,
    `${date}T12:00:00+01:00`,
    `select status <> 'COMPLETED' ${slot(1)}`,
  );
  const [{ paid, parts }] = await sql.unsafe(
    `select users_processed as paid,
            (select count(*)::int from app.ledger_transactions
              where idempotency_key like 'ros:slot:' || s.id || ':%') as parts
       from app.ros_slots s where distribution_date = '${date}' and slot_number = 1`,
  );
  if (paid !== n) throw new Error(`slot paid ${paid} of ${n} stakes`);
  // The same slot in one part: no call budget, a part as large as every stake.
  await settle(sql);
  await sql.unsafe(`update app.settings set value = '${n + 1}' where key = 'ros_part_stakes'`);
  const wholeMs = await timed(sql, `select public.execute_due_slots('${date}T14:00:00+01:00')`);
  await sql.unsafe(`update app.settings set value = '50000' where key = 'ros_part_stakes'`);
  const [{ whole }] = await sql.unsafe(`select users_processed as whole ${slot(3)}`);
  if (whole !== n) throw new Error(`the whole slot paid ${whole} of ${n} stakes`);
  // The loop runs a second slot's worth of rows over the same stakes, rolled back afterwards.
  let loopMs: number | null = null;
  if (withLoop) {
    await settle(sql);
    await sql.unsafe("begin");
    loopMs = await timed(sql, LOOP(date));
    await sql.unsafe("rollback");
  }
  return {
    stakes: n,
    slotMs: inParts.ms,
    calls: inParts.calls,
    parts,
    wholeMs,
    floorMs,
    loopMs,
  };
}
