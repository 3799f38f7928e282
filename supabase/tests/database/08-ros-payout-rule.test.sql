-- The payout rule (08_ros_execution) is written in three statements: app.pay_slot_part,
-- app.pay_slots_batch and app.count_slot_payouts. This file holds all three to one answer,
-- computed here independently (a loop per stake, trunc(amount × pct / 100, 2) against the room
-- under its cap), over stakes of every shape: payouts that round to nothing, stakes created after
-- a slot, at its exact time and after the whole day, cancelled and completed stakes, stakes a
-- cent below their cap, and caps reached in the middle of the day.
begin;
select plan(25);

create temp table mine (n int, user_id uuid, stake_id uuid);
insert into mine select * from tests.create_stakers('rule', 36, 0.03, 7.31);   -- 7.34 .. 263.19
insert into mine select n + 100, user_id, stake_id from tests.create_stakers('tiny', 3, -0.09, 0.1); -- 0.01, 0.11, 0.21
update app.ros_slots set status = 'CANCELLED' where status in ('PENDING', 'EXECUTING');
update app.stakes set status = 'cancelled' where status = 'active' and id not in (select stake_id from mine);

create temp table plan_slots (slot_number int, pct numeric, at_time time);
insert into plan_slots values (1, 0.37, '10:00'), (2, 90, '11:00'), (3, 75, '12:00'), (4, 3.3, '13:00'), (5, 40, '13:30');

-- The shapes, as times of day and states; created_at is set per day below.
create temp table shape (stake_id uuid primary key, n int, created time, status text, total_earned numeric);
insert into shape
select m.stake_id, m.n,
       case when m.n = 30 then '14:00'::time     -- after the whole day: never eligible
            when m.n % 7 = 3 then '12:00'        -- exactly at slot 3: eligible from slot 3
            when m.n % 4 = 1 then '10:30'        -- after slot 1
            else '00:00' end,
       case when m.n in (5, 17) then 'cancelled' when m.n = 11 then 'completed' else 'active' end,
       case when m.n = 8 then s.cap - 0.05 when m.n = 9 then s.cap - 0.01 when m.n = 11 then s.cap else 0 end
  from mine m join app.stakes s on s.id = m.stake_id;

-- Puts the stakes back in their shape on p_day.
create function pg_temp.reset_stakes(p_day date) returns void language sql as $$
  update app.stakes k
     set status = h.status, total_earned = h.total_earned,
         completed_at = case when h.status = 'completed' then p_day - 1 end,
         created_at = (p_day + h.created) at time zone app.business_tz()
    from shape h where h.stake_id = k.id
$$;

-- The oracle: slot after slot in order, each stake still active and created by the slot's time is
-- owed trunc(amount × pct / 100, 2), paid up to the room under its cap; at the cap it completes.
create temp table expected (n int, slot_number int, amount numeric);
do $$
declare
  k record;
  sl record;
  v_earned numeric;
  v_active boolean;
  v_pay numeric;
begin
  for k in select h.n, h.created, h.status, h.total_earned, s.amount, s.cap
             from shape h join app.stakes s on s.id = h.stake_id loop
    v_earned := k.total_earned;
    v_active := k.status = 'active';
    for sl in select * from plan_slots order by slot_number loop
      if v_active and k.created <= sl.at_time then
        v_pay := least(trunc(k.amount * sl.pct / 100, 2), k.cap - v_earned);
        if v_pay > 0 then
          insert into expected values (k.n, sl.slot_number, v_pay);
          v_earned := v_earned + v_pay;
          v_active := v_earned < k.cap;
        end if;
      end if;
    end loop;
  end loop;
end $$;

-- What the day paid, by staker and slot, comparable across days.
create function pg_temp.paid(p_day date) returns text language sql as $$
  select coalesce(string_agg(m.n || ':' || p.slot_number || ':' || p.amount, ' ' order by m.n, p.slot_number), '')
    from app.ros_payouts p join mine m on m.stake_id = p.stake_id where p.distribution_date = p_day
$$;
create function pg_temp.missing(p_day date, p_slot int) returns bigint language sql as $$
  select n.missing from app.ros_slots s, app.count_slot_payouts(s) n
   where s.distribution_date = p_day and s.slot_number = p_slot
$$;
select string_agg(n || ':' || slot_number || ':' || amount::numeric(20, 2), ' ' order by n, slot_number) as oracle
  from expected \gset

select ok((select count(*) from expected where amount < 0.10) > 0 and
          (select count(*) from shape h where h.n = 101 and not exists (select 1 from expected e where e.n = h.n)) = 1,
  'the oracle has payouts of a few kobo and a stake it never pays');
select ok((select count(distinct n) from expected e where e.slot_number < 5
             and (select sum(amount) from expected f where f.n = e.n)
                 + (select total_earned from shape h where h.n = e.n)
                 = (select cap from app.stakes s join mine m on m.stake_id = s.id where m.n = e.n)) > 5,
  'the oracle caps stakes in the middle of the day');

-- The day's slots, as admin_queue_distribution takes them.
create function pg_temp.slots(p_day date) returns jsonb language sql as $$
  select jsonb_agg(jsonb_build_object('slot_number', slot_number, 'ros_percentage', pct,
                     'scheduled_for', (p_day + at_time) at time zone app.business_tz()) order by slot_number)
    from plan_slots
$$;
select tests.create_user('admin@rule.io', true) as adm \gset

-- Day A: the five slots due at once, paid together (app.pay_slots_batch).
select pg_temp.reset_stakes('2035-03-01');
select pg_temp.slots('2035-03-01') as slots \gset
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-03-01', :'slots');
select tests.clear_authentication();
select is(pg_temp.missing('2035-03-01', 1), (select count(*) from expected where slot_number = 1),
  'before it runs, the count of slot 1 is what the oracle pays');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-03-01 13:30+01'), 5,
  'five due slots ran in one call');
select tests.clear_authentication();
select is(pg_temp.paid('2035-03-01'), :'oracle', 'the batch pays what the oracle pays');
select is((select string_agg(s.slot_number || ':' || s.status || ':' || s.users_processed || ':' || s.total_distributed, ' ' order by s.slot_number)
             from app.ros_slots s where s.distribution_date = '2035-03-01'),
          (select string_agg(x, ' ' order by slot_number) from (
             select p.slot_number, p.slot_number || ':COMPLETED:' || count(e.n) || ':' || coalesce(sum(e.amount), 0)::numeric(20, 2) as x
               from plan_slots p left join expected e on e.slot_number = p.slot_number group by p.slot_number) t),
  'each slot''s counts and total are the oracle''s');
select is((select count(*) from plan_slots p where pg_temp.missing('2035-03-01', p.slot_number) <> 0), 0::bigint,
  'after the batch, no slot counts a missing payout');
select is((select string_agg(m.n || ':' || s.status || ':' || s.total_earned, ' ' order by m.n)
             from app.stakes s join mine m on m.stake_id = s.id),
          (select string_agg(h.n || ':' || case when h.total_earned + coalesce(e.paid, 0) >= s.cap then 'completed' else h.status end
                             || ':' || (h.total_earned + coalesce(e.paid, 0))::numeric(20, 2), ' ' order by h.n)
             from shape h join app.stakes s on s.id = h.stake_id
             left join (select n, sum(amount) as paid from expected group by n) e on e.n = h.n),
  'each stake''s total and status are the oracle''s');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances after the batch');

-- Day B: the same slots one call at a time (app.pay_slot_part), each counted just before it runs.
select pg_temp.reset_stakes('2035-03-02');
select pg_temp.slots('2035-03-02') as slots \gset
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-03-02', :'slots');
select tests.clear_authentication();
select is(pg_temp.missing('2035-03-02', 1), (select count(*) from expected where slot_number = 1), 'slot 1 counted before it runs');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-03-02 10:00+01'), 1, 'slot 1 alone');
select tests.clear_authentication();
select is(pg_temp.missing('2035-03-02', 2), (select count(*) from expected where slot_number = 2), 'slot 2 counted before it runs');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-03-02 11:00+01'), 1, 'slot 2 alone');
select tests.clear_authentication();
select is(pg_temp.missing('2035-03-02', 3), (select count(*) from expected where slot_number = 3), 'slot 3 counted before it runs');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-03-02 12:00+01'), 1, 'slot 3 alone');
select tests.clear_authentication();
select is(pg_temp.missing('2035-03-02', 4), (select count(*) from expected where slot_number = 4), 'slot 4 counted before it runs');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-03-02 13:00+01'), 1, 'slot 4 alone');
select tests.clear_authentication();
select is(pg_temp.missing('2035-03-02', 5), (select count(*) from expected where slot_number = 5), 'slot 5 counted before it runs');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-03-02 13:30+01'), 1, 'slot 5 alone');
select tests.clear_authentication();
select is(pg_temp.paid('2035-03-02'), :'oracle', 'one slot per call pays what the oracle pays');
select is((select count(*) from plan_slots p where pg_temp.missing('2035-03-02', p.slot_number) <> 0), 0::bigint,
  'after the day, no slot counts a missing payout');

-- A stake the count finds missing is exactly what a retry pays: slot 5 of day B, run again after
-- a stake it skipped (created after it) is backdated to before its time.
update app.stakes set created_at = ('2035-03-02 13:00'::timestamp) at time zone app.business_tz()
 where id = (select stake_id from mine where n = 30);
select is(pg_temp.missing('2035-03-02', 5), 1::bigint, 'the backdated stake is missing from slot 5');
select tests.authenticate_as(:'adm', 'aal2');
select is((public.admin_retry_slot('2035-03-02', 5) ->> 'paid_now')::int, 1, 'a retry pays that one stake');
select tests.clear_authentication();
select is(pg_temp.missing('2035-03-02', 5), 0::bigint, 'and nothing is missing after it');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances after the day and the retry');

select * from finish();
rollback;
