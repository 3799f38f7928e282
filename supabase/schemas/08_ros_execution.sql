-- Slot execution: set-based, one transaction per slot run, exactly once per (stake, date, slot).
--
-- Built for a million stakes per slot. What that costs, measured, and how it is avoided here:
--  * ON CONFLICT arbitration (a speculative insertion per payout): the executor lock makes it
--    unnecessary, and an anti-join leaves out stakes already paid;
--  * grouping payouts by wallet over a CTE (no statistics: a million index probes): the wallets
--    are credited from the eligible set, which the planner can estimate;
--  * per-row reference checks: one hash join for a bulk insert (app.bulk_check, below);
--  * indexes filled in random order: payouts are read through stakes (07_ros_schema.sql), and
--    entries are inserted in account order.

-- Slots are paid in parts: the stakes in id order, at most `ros_part_stakes` per part, each part
-- in the transaction that records it on the slot (its counts grow, `part_after` moves on). A call
-- of execute_due_slots pays parts until its budget (app.ros_call_budget) is spent and returns; the
-- next call continues. So every call ends well inside the statement timeout of hosted Supabase,
-- whatever the number of stakes, and what a call paid stays paid when a later one fails or dies.
--
-- Exactly once across parts: a part covers the stakes in (part_after, part end]; the cursor moves
-- in the transaction that paid them, so a crash or a cancelled statement before the commit undoes
-- the part and its cursor together, and the next call pays that range again from scratch. A range
-- that already holds payouts (a compensation run) is paid through an anti-join.

-- The payout rule: a slot pays each stake created by its scheduled_for, still active,
-- floor(amount × pct) / 100, never past the stake's cap. This file is the one place it lives, in
-- the three statements that apply it: app.pay_slot_part (one slot), app.pay_slots_batch (several,
-- in its `owed` rows) and app.count_slot_payouts (what a slot owes, which the alerts read). A
-- change to the rule is a change to this file, and the pgTAP file 08-ros-payout-rule holds the
-- three to one answer, computed independently, over stakes of every shape.
--
-- Why not one helper the three call. Postgres inlines a SQL function only when it has no `set`
-- clause, and advisor 0011 flags every function without `set search_path` (a SQL-standard body
-- included): an inlinable helper cannot pass the advisors (supabase/supabase#33131 is this
-- trade-off). Called per row instead, the helper costs its call and the setting's swap each time:
-- over a million rows 1.9 s as plpgsql and 3.0 s as SQL against 0.4 s written out (measured), as
-- much again as the count's whole budget (ros_alerts_count_budget), and the eligibility, hidden in
-- a call, could no longer use the index on active stakes. A view joining slots and stakes makes
-- the slot's time a join condition, which the planner estimates at a third of the stakes and
-- answers with an index scan on created_at instead of one pass (measured). So the slot's
-- percentage and time reach each statement as constants. Nor is one slot paid as a batch of one:
-- the batch statement is slower for a single slot (docs/benchmarks.md) and cannot pay a range that
-- already holds payouts (a compensation run).

-- The budget of one call: the `ros_call_budget` setting, and never more than half the statement
-- timeout in force (so the part that starts last still ends inside it).
create or replace function app.ros_call_budget()
returns interval
language sql
stable
set search_path = ''
as $$
  select app.budget_within_timeout(app.setting('ros_call_budget')::interval, 0.5)
$$;

-- The last stake id of the part that starts after p_after (null: from the first stake), or null
-- when fewer than p_size stakes remain: that part is the slot's last. An index-only walk of the
-- primary key, so a part costs the same wherever it lies.
create or replace function app.slot_part_end(p_after uuid, p_size int)
returns uuid
language sql
stable
set search_path = ''
as $$
  select s.id from app.stakes s
   where s.id > coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid)
   order by s.id
  offset p_size - 1 limit 1
$$;

-- The platform side of a slot's posting: one debit of the ROS expense account per ledger
-- transaction (a slot's part), for what its payouts credited. Transactions that paid nothing get
-- no entry (the caller drops them).
create or replace function app.debit_ros_expense(p_tx_ids bigint[], p_totals numeric[])
returns void
language sql
set search_path = ''
as $$
  insert into app.ledger_entries (transaction_id, account_id, amount)
  select r.tx, app.account_id(null, 'platform_ros_expense'), -r.total
    from unnest(p_tx_ids, p_totals) as r(tx, total)
   where r.total <> 0;
  update app.accounts a
     set balance = a.balance - (select sum(t) from unnest(p_totals) t)
   where a.id = app.account_id(null, 'platform_ros_expense')
     and (select sum(t) from unnest(p_totals) t) <> 0;
$$;

-- Pays every stake of the part (p_after, p_upto] that was eligible for the slot and has no payout
-- for it yet (p_upto null: to the last stake), under the ledger transaction p_tx.
--
-- Exactly once, without ON CONFLICT: the caller holds the executor lock (7301) and this slot's
-- lock (7302), so no other transaction inserts payouts for this (date, slot). The stakes that
-- already have one (a compensation run) are left out by an anti-join; when the part's range holds
-- none (every first run), the anti-join is skipped. Anything that still collides violates the
-- primary key and fails the part: an error and a FAILED slot, never a second payment.
--
-- Because the insert either writes every eligible row or fails, the wallets can be credited
-- from the same eligible set (one snapshot for the whole statement) instead of from the insert's
-- output; that gives the planner real row estimates. The final check compares the two sums all
-- the same: the ledger must never hold a credit that has no payout.
create or replace function app.pay_slot_part(p_slot_id bigint, p_tx bigint, p_after uuid, p_upto uuid,
                                             out paid int, out total numeric)
language plpgsql
set search_path = ''
-- The per-slot sort, hash joins and per-wallet sums stay in memory up to ~1M stakes (the
-- per-wallet numeric sums alone take ~450 MB at a million). Only one slot runs at a time.
set work_mem = '256MB'
-- Planned for this part's range every time: a generic plan would read a whole slot and a part alike.
set plan_cache_mode = 'force_custom_plan'
as $$
declare
  v_slot app.ros_slots;
  v_from uuid := coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid);
  v_upto uuid := coalesce(p_upto, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid);
  v_fresh boolean;
  v_credited numeric;
begin
  select * into strict v_slot from app.ros_slots where id = p_slot_id;
  v_fresh := not exists (select 1 from app.ros_payouts p
                          where p.distribution_date = v_slot.distribution_date
                            and p.slot_number = v_slot.slot_number
                            and p.stake_id > v_from and p.stake_id <= v_upto);

  with eligible as not materialized (
    select s.id as stake_id, s.user_id, s.earnings_account_id,
           least(floor(s.amount * v_slot.ros_percentage) / 100,
                 s.cap - s.total_earned) as amount
      from app.stakes s
     where s.id > v_from and s.id <= v_upto
       and s.status = 'active'
       and s.created_at <= v_slot.scheduled_for
       and (v_fresh or not exists (select 1 from app.ros_payouts p
                                    where p.distribution_date = v_slot.distribution_date
                                      and p.slot_number = v_slot.slot_number
                                      and p.stake_id = s.id))
  ), ins as (
    insert into app.ros_payouts
      (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
    select e.stake_id, e.user_id, v_slot.distribution_date, v_slot.slot_number, e.earnings_account_id,
           e.amount, p_tx
      from eligible e
     where e.amount > 0
     order by e.stake_id -- key order: each insert lands on the index's right-most page
    returning stake_id, amount, earnings_account_id
  ), entries as (
    insert into app.ledger_entries (transaction_id, account_id, amount)
    select p_tx, p.earnings_account_id, p.amount from ins p
     order by p.earnings_account_id -- walks the account index once instead of a random probe each
  ), wallets as (
    update app.accounts a
       set balance = a.balance + w.amount
      from (select e.earnings_account_id, sum(e.amount) as amount
              from eligible e
             where e.amount > 0
             group by e.earnings_account_id) w
     where a.id = w.earnings_account_id
    returning w.amount
  ), stakes as (
    -- Keyed by the inserted payouts, so a stake's total moves exactly with its payout.
    update app.stakes s
       set total_earned = s.total_earned + p.amount,
           status = case when s.total_earned + p.amount >= s.cap
                         then 'completed' else s.status end,
           completed_at = case when s.total_earned + p.amount >= s.cap
                               then pg_catalog.now() else s.completed_at end
      from ins p
     where s.id = p.stake_id
  )
  select count(*)::int, coalesce(sum(i.amount), 0), (select coalesce(sum(w.amount), 0) from wallets w)
    into paid, total, v_credited
    from ins i;

  if v_credited <> total then
    raise exception 'slot % credited % to wallets but inserted payouts of %', p_slot_id, v_credited, total
      using errcode = 'XX000';
  end if;
  perform app.debit_ros_expense(array[p_tx], array[total]);
end
$$;

-- What a slot owes, counted over every stake in one scan joined with the slot's payouts:
-- `missing` are the stakes eligible at scheduled_for, active now, with a non-zero payout and no
-- payout row for (stake, date, slot), exactly what app.pay_slot_part would pay on a retry;
-- `eligible` the stakes the slot should have paid when it ran (those it completed at their cap
-- included). A non-zero payout is floor(amount × pct) > 0, the payers' floor(amount × pct) / 100
-- without its division (which would cost a twentieth of the count at a million stakes). The ROS
-- alerts (10_ros_alerts.sql) read it.
create or replace function app.count_slot_payouts(p_slot app.ros_slots, out missing bigint,
                                                  out eligible bigint)
language sql
stable
set search_path = ''
as $$
  select count(*) filter (where k.status = 'active' and p.stake_id is null),
         count(*) filter (where k.status = 'active'
                             or (k.status = 'completed' and k.completed_at >= p_slot.started_at))
    from app.stakes k
    left join app.ros_payouts p
      on p.distribution_date = p_slot.distribution_date and p.slot_number = p_slot.slot_number
     and p.stake_id = k.id
   where k.created_at <= p_slot.scheduled_for
     and floor(k.amount * p_slot.ros_percentage) > 0
$$;

-- The ledger transaction of a slot's next part: the one place its idempotency key is written
-- (`ros:slot:<id>:run:<run>`, then `:after:<stake id>` for every part after the first).
create or replace function app.new_slot_transaction(p_slot_id bigint)
returns bigint
language sql
volatile
set search_path = ''
as $$
  insert into app.ledger_transactions (idempotency_key, kind, description)
  select 'ros:slot:' || s.id || ':run:' || s.runs || coalesce(':after:' || s.part_after, ''), 'ros_payout',
         'ROS ' || s.distribution_date || ' slot ' || s.slot_number
    from app.ros_slots s where s.id = p_slot_id
  returning id
$$;

-- Pays the next part (at most p_size stakes) of the slots p_slot_ids (execution order, all at the
-- same cursor) and records it in the same transaction: PENDING slots become EXECUTING (a new run),
-- counts grow, the cursor moves on, and the last part makes them COMPLETED. Returns the number of
-- stakes the part covered. Raises on any error; the caller's subtransaction then undoes the part.
create or replace function app.pay_next_part(p_slot_ids bigint[], p_size int)
returns int
language plpgsql
set search_path = ''
as $$
declare
  v_size int := greatest(p_size, 1);
  v_after uuid;
  v_upto uuid;
  v_tx_ids bigint[];
  v_done bigint[];
  v_paid int[];
  v_total numeric[];
  v_seqscan text := pg_catalog.current_setting('enable_seqscan');
begin
  perform app.lock_ros_slots(p_slot_ids);
  update app.ros_slots
     set runs = runs + 1, started_at = pg_catalog.clock_timestamp(), status = 'EXECUTING'
   where id = any(p_slot_ids) and status = 'PENDING';
  if (select count(distinct coalesce(s.part_after::text, 'start')) > 1
             or count(*) <> pg_catalog.cardinality(p_slot_ids)
             or bool_or(s.status <> 'EXECUTING')
        from app.ros_slots s where s.id = any(p_slot_ids)) then
    raise exception 'slot part: the slots are not all EXECUTING at one cursor' using errcode = 'XX000';
  end if;
  select s.part_after into v_after from app.ros_slots s where s.id = p_slot_ids[1];
  v_upto := app.slot_part_end(v_after, v_size);
  -- One ledger transaction per slot and part.
  select array_agg(app.new_slot_transaction(u.id) order by u.ord) into v_tx_ids
    from unnest(p_slot_ids) with ordinality as u(id, ord);
  -- A part that is a small share of the stakes reads its stakes, wallets and stake rows through
  -- their primary keys; the planner, which cannot see that the part's wallets are few, would hash
  -- all 3M accounts and 1M stakes for each part instead (2.3 s for a part of 50k, against 0.9 s).
  if not app.bulk_check(v_size, 'app.stakes') then
    perform pg_catalog.set_config('enable_seqscan', 'off', true);
  end if;
  -- Paid first, as a statement of its own, so the payment runs exactly once whatever plan the
  -- status update below gets.
  if pg_catalog.cardinality(p_slot_ids) = 1 then
    select array[p_slot_ids[1]], array[p.paid], array[p.total] into v_done, v_paid, v_total
      from app.pay_slot_part(p_slot_ids[1], v_tx_ids[1], v_after, v_upto) p;
  else
    select array_agg(b.o_slot_id), array_agg(b.o_paid), array_agg(b.o_total)
      into v_done, v_paid, v_total
      from app.pay_slots_batch(p_slot_ids, v_tx_ids, v_after, v_upto) b;
  end if;
  perform pg_catalog.set_config('enable_seqscan', v_seqscan, true);
  -- Parts that paid nobody leave no ledger transaction behind.
  delete from app.ledger_transactions t
   where t.id = any(v_tx_ids)
     and not exists (select 1 from app.ledger_entries e where e.transaction_id = t.id);
  update app.ros_slots s
     set users_processed = s.users_processed + r.paid,
         total_distributed = s.total_distributed + r.total,
         part_after = v_upto,
         status = case when v_upto is null then 'COMPLETED' else 'EXECUTING' end,
         executed_at = case when v_upto is null then pg_catalog.clock_timestamp() else s.executed_at end,
         error_message = case when v_upto is null then null else s.error_message end,
         updated_at = pg_catalog.now()
    from unnest(v_done, v_paid, v_total) as r(slot_id, paid, total)
   where s.id = r.slot_id;
  -- Counted only with results from this payment: a slot the payment did not report on must not
  -- move on (or look paid); failing here undoes the part.
  if exists (select 1 from app.ros_slots s where s.id = any(p_slot_ids)
                and s.part_after is distinct from v_upto) then
    raise exception 'slot part: a slot got no result from the payment' using errcode = 'XX000';
  end if;
  if v_upto is not null then
    return v_size;
  end if;
  return (select count(*) from app.stakes s
           where s.id > coalesce(v_after, '00000000-0000-0000-0000-000000000000'::uuid));
end
$$;

-- The next part of one slot, or its failure: FAILED with the error (F2). The part's own writes are
-- undone; the parts paid before it stay paid and counted (admin_retry_slot pays the rest).
-- Returns the stakes the part covered (0 when it failed).
create or replace function app.pay_next_part_or_fail(p_slot_id bigint, p_size int)
returns int
language plpgsql
set search_path = ''
as $$
begin
  return app.pay_next_part(array[p_slot_id], p_size);
exception when others then
  update app.ros_slots
     set status = 'FAILED',
         runs = runs + case when status = 'PENDING' then 1 else 0 end,
         started_at = case when status = 'PENDING' then pg_catalog.clock_timestamp() else started_at end,
         executed_at = pg_catalog.clock_timestamp(),
         error_count = error_count + 1,
         error_message = left(sqlerrm, 1000),
         part_after = null,
         updated_at = pg_catalog.now()
   where id = p_slot_id;
  raise warning 'ROS slot % failed: %', p_slot_id, sqlerrm;
  return 0;
end
$$;

-- The next group of slots to pay a part of: slots already EXECUTING first (a slot between parts,
-- a retry handed over), then PENDING slots due at p_now; in time then slot order; at most
-- `ros_slots_per_pass`, all at the cursor of the first. p_only restricts it to one slot. The rows
-- are locked; empty when nothing is left.
create or replace function app.next_slot_group(p_now timestamptz, p_only bigint)
returns bigint[]
language plpgsql
set search_path = ''
as $$
declare
  v_per_pass int := greatest(app.setting('ros_slots_per_pass')::int, 1);
  v_lead app.ros_slots;
begin
  select * into v_lead from app.ros_slots s
   where s.status = 'EXECUTING' and (p_only is null or s.id = p_only)
   order by s.scheduled_for, s.distribution_date, s.slot_number
   limit 1 for update skip locked;
  if v_lead.id is null then
    select * into v_lead from app.ros_slots s
     where s.status = 'PENDING' and s.scheduled_for <= p_now and (p_only is null or s.id = p_only)
     order by s.scheduled_for, s.distribution_date, s.slot_number
     limit 1 for update skip locked;
  end if;
  if v_lead.id is null then
    return '{}'::bigint[];
  end if;
  return (select array_agg(d.id order by d.scheduled_for, d.distribution_date, d.slot_number)
            from (select s.id, s.scheduled_for, s.distribution_date, s.slot_number
                    from app.ros_slots s
                   where s.status = v_lead.status
                     and s.part_after is not distinct from v_lead.part_after
                     and (v_lead.status = 'EXECUTING' or s.scheduled_for <= p_now)
                     and (p_only is null or s.id = p_only)
                   order by s.scheduled_for, s.distribution_date, s.slot_number
                   limit v_per_pass
                     for update skip locked) d);
end
$$;

-- Pays parts until nothing is left or the call's budget would be overrun by the next part.
-- Returns the slots it paid parts of. The caller holds the executor lock (7301).
--
-- Part sizes: a call's first part is `ros_part_stakes` stakes (shared by the slots of a pass: k
-- slots take 1/k of it each), small enough to end well inside the shortest budget (4 s under the
-- 8 s of an API call). From the time it took, the next part is sized to what the budget has left,
-- with a margin of 1.5x, and grows at most 4x a part; so a call under pg_cron's 60 s pays a slot
-- over a million stakes in a few large parts, at nearly the cost of one statement, while a call
-- under 4 s pays small ones. A part never starts when it could not be a full first-size part.
create or replace function app.pay_slot_parts(p_now timestamptz, p_only bigint default null)
returns bigint[]
language plpgsql
set search_path = ''
as $$
declare
  v_deadline timestamptz := pg_catalog.statement_timestamp() + app.ros_call_budget();
  v_base int := greatest(app.setting('ros_part_stakes')::int, 1);
  v_group bigint[];
  v_slot bigint;
  v_slots int;
  v_size int;
  v_last int;
  v_touched bigint[] := '{}'::bigint[];
  v_started timestamptz;
  -- Seconds per (stake, slot), from the parts paid so far in this call; null before the first.
  v_cost float8;
  v_fit float8;
begin
  loop
    v_group := app.next_slot_group(p_now, p_only);
    exit when pg_catalog.cardinality(v_group) = 0;
    v_slots := pg_catalog.cardinality(v_group);
    v_size := greatest(v_base / v_slots, 1);
    if v_cost is not null then
      v_fit := extract(epoch from v_deadline - pg_catalog.clock_timestamp()) / (1.5 * v_cost * v_slots);
      exit when v_fit < v_size;
      v_size := least(v_fit, greatest(v_size, v_last * 4.0))::int;
    end if;
    v_started := pg_catalog.clock_timestamp();
    v_touched := v_touched || v_group;
    if v_slots > 1 then
      begin
        perform app.pay_next_part(v_group, v_size);
        v_group := '{}'::bigint[];
      exception when others then
        -- Undone as a whole; one slot at a time then pays what can be paid and marks what fails.
        raise warning 'ROS part of % slots failed (%), paying them one by one', v_slots, sqlerrm;
      end;
    end if;
    foreach v_slot in array v_group loop
      perform app.pay_next_part_or_fail(v_slot, v_size);
    end loop;
    v_last := v_size;
    -- Per (stake, slot) of the part's size, not of the stakes it covered: a part that ran out of
    -- stakes (a slot's tail, a small slot) is mostly fixed cost, and read per covered stake it
    -- would forecast a full part at many times its real cost and end the call before the next
    -- pass. Full parts, the costly ones, are measured exactly and the largest cost seen is kept.
    v_cost := greatest(coalesce(v_cost, 0),
      extract(epoch from pg_catalog.clock_timestamp() - v_started) / (v_size::float8 * v_slots));
  end loop;
  return (select coalesce(array_agg(distinct t), '{}') from unnest(v_touched) as t);
end
$$;

create or replace function public.execute_due_slots(p_now timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role and pg_cron run slots');
  if p_now in ('infinity'::timestamptz, '-infinity'::timestamptz) then
    perform app.fail('PT400', 'p_now must be a point in time, not ' || p_now::text,
      'an infinite p_now would run every future slot at once');
  end if;
  -- One executor at a time; a concurrent call returns 0 at once: the running one takes every
  -- due slot, including any that became due meanwhile.
  if not app.lock_ros_executor(false) then
    return 0;
  end if;
  return pg_catalog.cardinality(app.pay_slot_parts(coalesce(p_now, pg_catalog.now())));
end
$$;
comment on function public.execute_due_slots(timestamptz) is
  'Service and pg_cron: pays the slots that are EXECUTING (between parts, or a retry handed over), '
  'then every PENDING slot with scheduled_for <= p_now, in time then slot order, in parts of '
  'ros_part_stakes stakes, for at most ros_call_budget (and half the statement timeout); returns '
  'how many slots it paid parts of. A slot is EXECUTING from its first part to its last, its '
  'counts growing, and ends COMPLETED in the transaction of its last part or FAILED with the '
  'error. Due slots are paid together in passes of up to ros_slots_per_pass (each with its own '
  'ledger transaction and counts), a pass falling back to one slot at a time on any error. '
  'Concurrent calls never pay a slot twice.';
revoke all on function public.execute_due_slots(timestamptz) from public;
grant execute on function public.execute_due_slots(timestamptz) to service_role;

-- A part of several due slots in one pass (a catch-up: slots declared late, or an executor that
-- was down), over the stakes (p_after, p_upto].
--
-- Run one after another in one transaction, each slot updates every stake and wallet of the part
-- again, and none of those row versions can be pruned before the transaction ends, so each later
-- slot is slower than the one before. Paying all of them in one statement writes each stake and
-- wallet once, however many slots are due.
--
-- Same amounts as one slot after another: a stake's payouts follow the slots in execution order,
-- each slot pays floor(amount × pct) / 100 while the cap allows, then what remains, then nothing.
-- With due_j that uncapped amount for the slots the stake was eligible for, and E its total earned
-- before the batch: paid_j = least(due_j, greatest(cap − E − (due_1 + … + due_(j−1)), 0)).
-- Anything unexpected (a failing slot, a payout that already exists in the range) makes the
-- caller fall back to one slot at a time, which records a failure against the slot that failed (F2).
create or replace function app.pay_slots_batch(p_slot_ids bigint[], p_tx_ids bigint[], p_after uuid, p_upto uuid)
returns table (o_slot_id bigint, o_paid int, o_total numeric)
language plpgsql
set search_path = ''
set work_mem = '256MB'
set plan_cache_mode = 'force_custom_plan'
as $$
declare
  v_from uuid := coalesce(p_after, '00000000-0000-0000-0000-000000000000'::uuid);
  v_upto uuid := coalesce(p_upto, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid);
  v_total numeric;
  v_credited numeric;
  v_earned numeric;
  v_run_tx bigint[];
  v_run_paid bigint[];
  v_run_total numeric[];
begin
  if exists (select 1 from app.ros_slots s join app.ros_payouts p
                 on p.distribution_date = s.distribution_date and p.slot_number = s.slot_number
                and p.stake_id > v_from and p.stake_id <= v_upto
              where s.id = any(p_slot_ids)) then
    raise exception 'a slot of the batch already has payouts' using errcode = 'P0001';
  end if;

  with slots as (
    select u.slot_id, u.tx_id, u.ord, s.distribution_date, s.slot_number, s.ros_percentage, s.scheduled_for
      from unnest(p_slot_ids, p_tx_ids) with ordinality as u(slot_id, tx_id, ord)
      join app.ros_slots s on s.id = u.slot_id
  ), owed as not materialized (
    -- The payout rule, once for the batch: one row per (eligible stake, slot) with what the slot
    -- owes the stake before its cap.
    select k.id as stake_id, k.user_id, k.earnings_account_id, k.cap, k.cap - k.total_earned as room,
           sl.distribution_date, sl.slot_number, sl.tx_id, sl.ord,
           floor(k.amount * sl.ros_percentage) / 100 as due
      from app.stakes k
      join slots sl on k.created_at <= sl.scheduled_for
     where k.id > v_from and k.id <= v_upto and k.status = 'active'
  ), due as not materialized (
    -- In execution order per stake: what the slots before this one were owed.
    select o.*,
           sum(o.due) over (partition by o.stake_id order by o.ord
                            rows between unbounded preceding and 1 preceding) as due_before
      from owed o
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
    select o.stake_id, o.cap, least(sum(o.due), o.room) as amount
      from owed o
     group by o.stake_id, o.cap, o.room
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
  select coalesce(sum(i.amount), 0),
         (select coalesce(sum(w.amount), 0) from wallets w),
         (select coalesce(sum(s.amount), 0) from stakes s),
         (select array_agg(r.tx order by r.tx) from per_run r),
         (select array_agg(r.paid order by r.tx) from per_run r),
         (select array_agg(r.total order by r.tx) from per_run r)
    into v_total, v_credited, v_earned, v_run_tx, v_run_paid, v_run_total
    from ins i;

  -- The ledger must never hold a credit without its payout, nor a stake total without its payouts.
  if v_credited <> v_total or v_earned <> v_total then
    raise exception 'slot batch: payouts %, wallets credited %, stake totals moved %', v_total, v_credited, v_earned
      using errcode = 'XX000';
  end if;

  perform app.debit_ros_expense(v_run_tx, v_run_total);

  return query
    select u.slot_id, coalesce(r.paid, 0)::int, coalesce(r.total, 0)
      from unnest(p_slot_ids, p_tx_ids) as u(slot_id, tx_id)
      left join unnest(v_run_tx, v_run_paid, v_run_total) as r(tx, paid, total) on r.tx = u.tx_id;
end
$$;

-- Due slots are paid in passes of at most `ros_slots_per_pass` slots (default 10). One pass over
-- every due slot sorts (stakes × slots) rows: 100 slots over a million stakes would be ~100M rows of
-- temp files, and if the database refused that (disk, temp_file_limit) the fall-back would run all
-- 100 slots one by one, the slowest way. Each pass writes every stake and wallet once, so 100 slots
-- make 10 row versions per stake instead of 100 (30 slots x 100k stakes: 31.7 s in one pass, 37.6 s
-- in passes of 10).
insert into app.settings (key, value) values ('ros_slots_per_pass', '10') on conflict (key) do nothing;

-- A call of execute_due_slots pays parts for at most this long (never more than half the statement
-- timeout in force: app.ros_call_budget). pg_cron's 2 minutes give 60 s; a service-role request
-- through the API (8 s) gives 4 s.
insert into app.settings (key, value) values ('ros_call_budget', '60 seconds') on conflict (key) do nothing;
-- Stakes per part. A part of 50,000 takes about 1.5 s on two cores: well inside the 4 s budget of
-- the shortest timeout a payer runs under (authenticated, 8 s), with the per-part overhead (a
-- cursor walk and one ledger transaction per slot) small beside the payouts.
insert into app.settings (key, value) values ('ros_part_stakes', '50000') on conflict (key) do nothing;
