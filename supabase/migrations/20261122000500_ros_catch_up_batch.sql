-- Several due slots in one pass (a catch-up: slots declared late, or an executor that was down).
--
-- execute_due_slots runs every due slot in one transaction (the contract's one call). Run one after
-- another, each slot updates every stake and wallet again, and none of those row versions can be
-- pruned before the transaction ends, so each later slot is slower than the one before: 10 slots over
-- 100k stakes took 41 s in one call against 15 s in ten calls. Paying all of them in one statement
-- writes each stake and wallet once, however many slots are due.
--
-- Same amounts as one slot after another: a stake's payouts follow the slots in execution order,
-- each slot pays floor(amount × pct) / 100 while the cap allows, then what remains, then nothing.
-- With due_j that uncapped amount for the slots the stake was eligible for, and E its total earned
-- before the batch: paid_j = least(due_j, greatest(cap − E − (due_1 + … + due_(j−1)), 0)).
-- Anything unexpected (a failing slot, a payout that already exists) makes the caller fall back to
-- one slot at a time, which records a failure against the slot that failed (F2).
create or replace function app.pay_slots_batch(p_slot_ids bigint[], p_tx_ids bigint[])
returns table (o_slot_id bigint, o_paid int, o_total numeric)
language plpgsql
set search_path = ''
set work_mem = '256MB'
as $$
declare
  v_expense bigint := app.account_id(null, 'platform_ros_expense');
  v_paid bigint;
  v_total numeric;
  v_credited numeric;
  v_earned numeric;
  v_run_tx bigint[];
  v_run_paid bigint[];
  v_run_total numeric[];
begin
  if exists (select 1 from app.ros_slots s join app.ros_payouts p
                 on p.distribution_date = s.distribution_date and p.slot_number = s.slot_number
              where s.id = any(p_slot_ids)) then
    raise exception 'a slot of the batch already has payouts' using errcode = 'P0001';
  end if;

  with slots as (
    select u.slot_id, u.tx_id, u.ord, s.distribution_date, s.slot_number, s.ros_percentage, s.scheduled_for
      from unnest(p_slot_ids, p_tx_ids) with ordinality as u(slot_id, tx_id, ord)
      join app.ros_slots s on s.id = u.slot_id
  ), due as not materialized (
    -- One row per (eligible stake, slot), in execution order per stake.
    select k.id as stake_id, k.user_id, k.earnings_account_id, sl.distribution_date, sl.slot_number,
           sl.tx_id, floor(k.amount * sl.ros_percentage) / 100 as due,
           app.stake_cap(k.amount, k.max_return_percent) - k.total_earned as room,
           sum(floor(k.amount * sl.ros_percentage) / 100)
             over (partition by k.id order by sl.ord rows between unbounded preceding and 1 preceding)
             as due_before
      from app.stakes k
      join slots sl on k.created_at <= sl.scheduled_for
     where k.status = 'active'
  ), payable as not materialized (
    select d.*, least(d.due, greatest(d.room - coalesce(d.due_before, 0), 0)) as amount
      from due d
  ), ins as (
    insert into app.ros_payouts
      (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
    select p.stake_id, p.user_id, p.distribution_date, p.slot_number, p.earnings_account_id, p.amount, p.tx_id
      from payable p
     where p.amount > 0
     order by p.distribution_date, p.slot_number, p.stake_id -- key order, as for one slot
    returning stake_id, amount, earnings_account_id, ledger_transaction_id
  ), entries as (
    insert into app.ledger_entries (transaction_id, account_id, amount)
    select i.ledger_transaction_id, i.earnings_account_id, i.amount from ins i
     order by i.earnings_account_id
  ), wallets as (
    -- Grouped from the stakes (statistics, so one hash join), not from the insert's output.
    update app.accounts a
       set balance = a.balance + w.amount
      from (select p.earnings_account_id, sum(p.amount) as amount
              from payable p where p.amount > 0 group by p.earnings_account_id) w
     where a.id = w.earnings_account_id
    returning w.amount
  ), stake_totals as not materialized (
    -- A stake's whole batch at once: what the slots were due, capped by the room it had left.
    select k.id as stake_id, app.stake_cap(k.amount, k.max_return_percent) as cap,
           least(sum(floor(k.amount * sl.ros_percentage) / 100),
                 app.stake_cap(k.amount, k.max_return_percent) - k.total_earned) as amount
      from app.stakes k
      join slots sl on k.created_at <= sl.scheduled_for
     where k.status = 'active'
     group by k.id
  ), stakes as (
    update app.stakes s
       set total_earned = s.total_earned + t.amount,
           status = case when s.total_earned + t.amount >= t.cap then 'completed' else s.status end,
           completed_at = case when s.total_earned + t.amount >= t.cap then pg_catalog.now()
                               else s.completed_at end
      from stake_totals t
     where s.id = t.stake_id and t.amount > 0
    returning t.amount
  ), per_run as (
    select i.ledger_transaction_id as tx, count(*) as paid, sum(i.amount) as total
      from ins i group by i.ledger_transaction_id
  )
  select count(*), coalesce(sum(i.amount), 0),
         (select coalesce(sum(w.amount), 0) from wallets w),
         (select coalesce(sum(s.amount), 0) from stakes s),
         (select array_agg(r.tx order by r.tx) from per_run r),
         (select array_agg(r.paid order by r.tx) from per_run r),
         (select array_agg(r.total order by r.tx) from per_run r)
    into v_paid, v_total, v_credited, v_earned, v_run_tx, v_run_paid, v_run_total
    from ins i;

  -- The ledger must never hold a credit without its payout, nor a stake total without its payouts.
  if v_credited <> v_total or v_earned <> v_total then
    raise exception 'slot batch: payouts %, wallets credited %, stake totals moved %', v_total, v_credited, v_earned
      using errcode = 'XX000';
  end if;

  -- The platform side, one entry per slot run; runs that paid nobody leave no transaction behind.
  insert into app.ledger_entries (transaction_id, account_id, amount)
  select r.tx, v_expense, -r.total from unnest(v_run_tx, v_run_total) as r(tx, total);
  update app.accounts set balance = balance - v_total where id = v_expense and v_total <> 0;
  delete from app.ledger_transactions t
   where t.id = any(p_tx_ids) and not (t.id = any(coalesce(v_run_tx, '{}')));

  return query
    select u.slot_id, coalesce(r.paid, 0)::int, coalesce(r.total, 0)
      from unnest(p_slot_ids, p_tx_ids) as u(slot_id, tx_id)
      left join unnest(v_run_tx, v_run_paid, v_run_total) as r(tx, paid, total) on r.tx = u.tx_id;
end
$$;

-- The ledger transaction of a slot's current run (same key and description as app.run_slot's).
create or replace function app.new_slot_transaction(p_slot_id bigint)
returns bigint
language sql
volatile
set search_path = ''
as $$
  insert into app.ledger_transactions (idempotency_key, kind, description)
  select 'ros:slot:' || s.id || ':run:' || s.runs, 'ros_payout',
         'ROS ' || s.distribution_date || ' slot ' || s.slot_number
    from app.ros_slots s where s.id = p_slot_id
  returning id
$$;

-- Runs the claimed slots p_slot_ids (in execution order) as one batch: each is locked as
-- executing, gets its own ledger transaction and ends COMPLETED with its own counts. Raises on any
-- error; the caller's subtransaction then undoes all of it.
create or replace function app.run_slots_batch(p_slot_ids bigint[])
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_tx_ids bigint[];
  v_done bigint[];
  v_paid int[];
  v_total numeric[];
begin
  perform pg_catalog.pg_advisory_xact_lock(7302, id::int) from unnest(p_slot_ids) as id;
  update app.ros_slots
     set runs = runs + 1, started_at = pg_catalog.clock_timestamp(), status = 'EXECUTING'
   where id = any(p_slot_ids);
  -- One ledger transaction per slot run, keyed like a single run's.
  select array_agg(app.new_slot_transaction(u.id) order by u.ord) into v_tx_ids
    from unnest(p_slot_ids) with ordinality as u(id, ord);
  -- Paid first, as a statement of its own, so the payment runs exactly once whatever plan the
  -- status update below gets.
  select array_agg(b.o_slot_id), array_agg(b.o_paid), array_agg(b.o_total)
    into v_done, v_paid, v_total
    from app.pay_slots_batch(p_slot_ids, v_tx_ids) b;
  update app.ros_slots s
     set status = 'COMPLETED',
         executed_at = pg_catalog.clock_timestamp(),
         users_processed = r.paid,
         total_distributed = r.total,
         error_message = null,
         updated_at = pg_catalog.now()
    from unnest(v_done, v_paid, v_total) as r(slot_id, paid, total)
   where s.id = r.slot_id;
  -- COMPLETED only with counts from this payment: a slot the payment did not report on must not
  -- stay EXECUTING (or look paid); failing here undoes the pass and the slots run one by one.
  if exists (select 1 from app.ros_slots where id = any(p_slot_ids) and status <> 'COMPLETED') then
    raise exception 'slot batch: a slot got no result from the payment' using errcode = 'XX000';
  end if;
end
$$;

-- Due slots are paid in passes of at most `ros_slots_per_pass` slots (default 10). One pass over
-- every due slot sorts (stakes × slots) rows: 100 slots over a million stakes would be ~100M rows of
-- temp files, and if the database refused that (disk, temp_file_limit) the fall-back would run all
-- 100 slots one by one, the slowest way. Each pass writes every stake and wallet once, so 100 slots
-- make 10 row versions per stake instead of 100 (30 slots x 100k stakes: 31.7 s in one pass, 37.6 s
-- in passes of 10).
insert into app.settings (key, value) values ('ros_slots_per_pass', '10') on conflict (key) do nothing;

create or replace function public.execute_due_slots(p_now timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slots bigint[];
  v_pass bigint[];
  v_slot bigint;
  v_per_pass int := greatest(coalesce(app.setting('ros_slots_per_pass')::int, 10), 1);
  v_next int := 1;
begin
  perform app.require_service('only the service role and pg_cron run slots');
  -- One executor at a time; a concurrent call returns 0 at once: the running one takes every
  -- due slot, including any that became due meanwhile.
  if not pg_catalog.pg_try_advisory_xact_lock(7301, 0) then
    return 0;
  end if;
  select coalesce(array_agg(d.id order by d.scheduled_for, d.distribution_date, d.slot_number), '{}')
    into v_slots
    from (select s.id, s.scheduled_for, s.distribution_date, s.slot_number
            from app.ros_slots s
           where s.status = 'PENDING' and s.scheduled_for <= coalesce(p_now, pg_catalog.now())
             for update skip locked) d;
  while v_next <= pg_catalog.cardinality(v_slots) loop
    v_pass := v_slots[v_next : v_next + v_per_pass - 1];
    v_next := v_next + v_per_pass;
    if pg_catalog.cardinality(v_pass) > 1 then
      begin
        perform app.run_slots_batch(v_pass);
        continue;
      exception when others then
        -- Undone as a whole; one slot at a time then pays what can be paid and marks what fails.
        raise warning 'ROS pass of % slots failed (%), running them one by one',
          pg_catalog.cardinality(v_pass), sqlerrm;
      end;
    end if;
    foreach v_slot in array v_pass loop
      perform app.run_slot(v_slot, false);
    end loop;
  end loop;
  return pg_catalog.cardinality(v_slots);
end
$$;
comment on function public.execute_due_slots(timestamptz) is
  'Service and pg_cron: runs every PENDING slot with scheduled_for <= p_now, in time then slot '
  'order; returns how many ran. Each slot pays all eligible stakes once, set-based, and ends '
  'COMPLETED (with counts) or FAILED (with the error). Several due slots are paid in passes of up '
  'to ros_slots_per_pass (each slot with its own ledger transaction and counts), a pass falling '
  'back to one slot at a time on any error. Concurrent calls never run a slot twice.';
