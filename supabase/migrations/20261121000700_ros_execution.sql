-- Slot execution: set-based, one transaction per slot run, exactly once per (stake, date, slot).

-- Pays every stake that was eligible for the slot and has no payout for it yet. Used by the first
-- run and by compensation (admin_retry_slot): ON CONFLICT DO NOTHING on the unique key makes a
-- second pass pay only what is missing. Payout, ledger entries, wallet balances and stake totals
-- are written by one statement, so they commit or fail together (F3).
create or replace function app.pay_slot(p_slot_id bigint, p_run_key text, out paid int, out total numeric)
language plpgsql
set search_path = ''
set work_mem = '128MB' -- the per-slot hash joins and aggregates stay in memory up to ~1M stakes
as $$
declare
  v_slot app.ros_slots;
  v_tx bigint;
  v_expense bigint := app.account_id(null, 'platform_ros_expense');
begin
  select * into strict v_slot from app.ros_slots where id = p_slot_id;
  insert into app.ledger_transactions (idempotency_key, kind, description)
  values (p_run_key, 'ros_payout',
          'ROS ' || v_slot.distribution_date || ' slot ' || v_slot.slot_number)
  returning id into v_tx;

  with eligible as (
    select s.id as stake_id, s.user_id, s.earnings_account_id,
           least(floor(s.amount * v_slot.ros_percentage) / 100,
                 app.stake_cap(s.amount, s.max_return_percent) - s.total_earned) as amount
      from app.stakes s
     where s.status = 'active'
       and s.created_at <= v_slot.scheduled_for
  ), ins as (
    insert into app.ros_payouts
      (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
    select e.stake_id, e.user_id, v_slot.distribution_date, v_slot.slot_number, e.earnings_account_id,
           e.amount, v_tx
      from eligible e
     where e.amount > 0
     order by e.stake_id -- index order: sequential inserts into this slot's part of the key
    on conflict on constraint one_payout_per_stake_slot do nothing
    -- Only what was really inserted is credited: a stake that already had its payout is not.
    returning stake_id, amount, earnings_account_id
  ), entries as (
    insert into app.ledger_entries (transaction_id, account_id, amount)
    select v_tx, p.earnings_account_id, p.amount from ins p
    returning 1
  ), wallets as (
    update app.accounts a
       set balance = a.balance + w.amount
      from (select p.earnings_account_id, sum(p.amount) as amount
              from ins p group by p.earnings_account_id) w
     where a.id = w.earnings_account_id
    returning 1
  ), stakes as (
    update app.stakes s
       set total_earned = s.total_earned + p.amount,
           status = case when s.total_earned + p.amount >= app.stake_cap(s.amount, s.max_return_percent)
                         then 'completed' else s.status end,
           completed_at = case when s.total_earned + p.amount >= app.stake_cap(s.amount, s.max_return_percent)
                               then pg_catalog.now() else s.completed_at end
      from ins p
     where s.id = p.stake_id
    returning 1
  )
  select count(*)::int, coalesce(sum(i.amount), 0) into paid, total from ins i;

  if paid = 0 then
    delete from app.ledger_transactions where id = v_tx;
    return;
  end if;
  -- The platform side of the posting: one entry for the whole slot run.
  insert into app.ledger_entries (transaction_id, account_id, amount) values (v_tx, v_expense, -total);
  update app.accounts set balance = balance - total where id = v_expense;
end
$$;

-- Runs one claimed slot: COMPLETED with its counts in the transaction that paid, or FAILED with the
-- error and nothing paid (F2). The caller holds the slot row lock.
create or replace function app.run_slot(p_slot_id bigint, p_retry boolean)
returns int
language plpgsql
set search_path = ''
as $$
declare
  v_paid int;
  v_total numeric;
  v_runs int;
begin
  perform pg_catalog.pg_advisory_xact_lock(7302, p_slot_id::int);
  update app.ros_slots
     set runs = runs + 1,
         started_at = case when p_retry then started_at else pg_catalog.clock_timestamp() end,
         status = case when p_retry then status else 'EXECUTING' end
   where id = p_slot_id
  returning runs into v_runs;
  begin
    select paid, total into v_paid, v_total
      from app.pay_slot(p_slot_id, 'ros:slot:' || p_slot_id || ':run:' || v_runs);
    update app.ros_slots
       set status = 'COMPLETED',
           executed_at = pg_catalog.clock_timestamp(),
           users_processed = case when p_retry then users_processed + v_paid else v_paid end,
           total_distributed = case when p_retry then total_distributed + v_total else v_total end,
           error_message = null,
           updated_at = pg_catalog.now()
     where id = p_slot_id;
    return v_paid;
  exception when others then
    -- The block's writes (payouts, postings) are rolled back; the failure itself is kept.
    update app.ros_slots
       set status = 'FAILED',
           executed_at = pg_catalog.clock_timestamp(),
           error_count = error_count + 1,
           error_message = left(sqlerrm, 1000),
           updated_at = pg_catalog.now()
     where id = p_slot_id;
    raise warning 'ROS slot % failed: %', p_slot_id, sqlerrm;
    return null;
  end;
end
$$;

create or replace function public.execute_due_slots(p_now timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot bigint;
  v_count int := 0;
begin
  perform app.require_service('only the service role and pg_cron run slots');
  -- One executor at a time; a concurrent call returns 0 at once: the running one takes every
  -- due slot, including any that became due meanwhile.
  if not pg_catalog.pg_try_advisory_xact_lock(7301, 0) then
    return 0;
  end if;
  for v_slot in
    select s.id from app.ros_slots s
     where s.status = 'PENDING' and s.scheduled_for <= coalesce(p_now, pg_catalog.now())
     order by s.scheduled_for, s.distribution_date, s.slot_number
       for update skip locked
  loop
    perform app.run_slot(v_slot, false);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
comment on function public.execute_due_slots(timestamptz) is
  'Service and pg_cron: runs every PENDING slot with scheduled_for <= p_now, in time then slot '
  'order; returns how many ran. Each slot pays all eligible stakes once, set-based, and ends '
  'COMPLETED (with counts) or FAILED (with the error). Concurrent calls never run a slot twice.';
revoke all on function public.execute_due_slots(timestamptz) from public;
grant execute on function public.execute_due_slots(timestamptz) to service_role;
