-- A faster slot for large stake counts, with the same guarantees (issue #3's performance goal).
-- Measured at a million stakes, the previous version spent its time on:
--  * ON CONFLICT arbitration: a speculative insertion (an extra index descent) per payout;
--  * the wallet update: grouping the payouts by wallet over a CTE, for which Postgres has no
--    statistics, so it assumed 200 wallets and probed the accounts index a million times;
--  * the reference checks: a nested-loop probe per row where one hash join is far cheaper
--    (20261122000200_bulk_reference_checks.sql);
--  * two indexes filled in random order: payouts by user (20261122000300) and entries by account
--    (now inserted in account order, below).

-- Pays every stake that was eligible for the slot and has no payout for it yet.
--
-- Exactly once, without ON CONFLICT: the caller holds the executor lock (7301) and this slot's
-- lock (7302), so no other transaction inserts payouts for this (date, slot). The stakes that
-- already have one (a compensation run) are left out by an anti-join; on a first run there are
-- none, and the anti-join is skipped. Anything that still collides violates the primary key and
-- fails the whole run: an error and a FAILED slot, never a second payment.
--
-- Because the insert either writes every eligible row or fails, the wallets can be credited
-- from the same eligible set (one snapshot for the whole statement) instead of from the insert's
-- output; that gives the planner real row estimates. The final check compares the two sums all
-- the same: the ledger must never hold a credit that has no payout.
create or replace function app.pay_slot(p_slot_id bigint, p_run_key text, out paid int, out total numeric)
language plpgsql
set search_path = ''
-- The per-slot sort, hash joins and per-wallet sums stay in memory up to ~1M stakes (the
-- per-wallet numeric sums alone take ~450 MB at a million). Only one slot runs at a time.
set work_mem = '256MB'
as $$
declare
  v_slot app.ros_slots;
  v_tx bigint;
  v_expense bigint := app.account_id(null, 'platform_ros_expense');
  v_first boolean;
  v_credited numeric;
begin
  select * into strict v_slot from app.ros_slots where id = p_slot_id;
  v_first := not exists (select 1 from app.ros_payouts p
                          where p.distribution_date = v_slot.distribution_date
                            and p.slot_number = v_slot.slot_number);
  insert into app.ledger_transactions (idempotency_key, kind, description)
  values (p_run_key, 'ros_payout',
          'ROS ' || v_slot.distribution_date || ' slot ' || v_slot.slot_number)
  returning id into v_tx;

  with eligible as not materialized (
    select s.id as stake_id, s.user_id, s.earnings_account_id,
           least(floor(s.amount * v_slot.ros_percentage) / 100,
                 app.stake_cap(s.amount, s.max_return_percent) - s.total_earned) as amount
      from app.stakes s
     where s.status = 'active'
       and s.created_at <= v_slot.scheduled_for
       and (v_first or not exists (select 1 from app.ros_payouts p
                                    where p.distribution_date = v_slot.distribution_date
                                      and p.slot_number = v_slot.slot_number
                                      and p.stake_id = s.id))
  ), ins as (
    insert into app.ros_payouts
      (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
    select e.stake_id, e.user_id, v_slot.distribution_date, v_slot.slot_number, e.earnings_account_id,
           e.amount, v_tx
      from eligible e
     where e.amount > 0
     order by e.stake_id -- key order: each insert lands on the index's right-most page
    returning stake_id, amount, earnings_account_id
  ), entries as (
    insert into app.ledger_entries (transaction_id, account_id, amount)
    select v_tx, p.earnings_account_id, p.amount from ins p
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
           status = case when s.total_earned + p.amount >= app.stake_cap(s.amount, s.max_return_percent)
                         then 'completed' else s.status end,
           completed_at = case when s.total_earned + p.amount >= app.stake_cap(s.amount, s.max_return_percent)
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
  if paid = 0 then
    delete from app.ledger_transactions where id = v_tx;
    return;
  end if;
  -- The platform side of the posting: one entry for the whole slot run.
  insert into app.ledger_entries (transaction_id, account_id, amount) values (v_tx, v_expense, -total);
  update app.accounts set balance = balance - total where id = v_expense;
end
$$;
