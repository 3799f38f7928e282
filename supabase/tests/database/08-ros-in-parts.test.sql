-- Slots paid in parts (08_ros_execution): a call pays parts of `ros_part_stakes` stakes until its
-- `ros_call_budget` is spent; the slot is stored EXECUTING between calls with its counts growing,
-- COMPLETED with its last part, FAILED with the reason (earlier parts stay paid); a retry that its
-- budget cannot finish is handed to the executor (queued); a call cancelled mid-part pays nothing
-- twice. The amounts are exactly those of the slot paid whole.
begin;
select plan(49);

select tests.create_user('admin@parts.io', true) as adm \gset
create temp table mine (n int, user_id uuid, stake_id uuid);
grant all on mine to public;
insert into mine select * from tests.create_stakers('parts', 7, 100, 1);
update app.ros_slots set status = 'CANCELLED' where status in ('PENDING', 'EXECUTING');
update app.stakes set status = 'cancelled' where status = 'active' and id not in (select stake_id from mine);
update app.stakes set created_at = '2035-01-01 00:00+01' where id in (select stake_id from mine);

-- How many of our stakes lie in the first k parts of 3 (all stakes, in id order, count: the cursor
-- walks every stake, paid or not).
create function tests.mine_in_first_parts(p_parts int) returns bigint language sql as $$
  select count(*) from (select id from app.stakes order by id limit 3 * p_parts) f
   where f.id in (select stake_id from mine)
$$;
select ceil((select count(*) from app.stakes) / 3.0)::int as parts \gset

-- Calls execute_due_slots until the day's slots are done, recording each call's answer and the
-- slots as stored after it.
create temp table calls (n int, answer int, states text, processed bigint);
grant all on calls to public;
create function tests.call_until_done(p_date date, p_now timestamptz) returns void language plpgsql as $$
declare
  v_n int := 0;
  v_answer int;
begin
  loop
    v_n := v_n + 1;
    perform tests.authenticate_as_service();
    v_answer := public.execute_due_slots(p_now);
    perform tests.clear_authentication();
    insert into calls select v_n, v_answer,
      string_agg(s.status, ',' order by s.slot_number), sum(s.users_processed)
      from app.ros_slots s where s.distribution_date = p_date;
    exit when v_answer = 0 or v_n > 10000;
  end loop;
end $$;

update app.settings set value = '3' where key = 'ros_part_stakes';
update app.settings set value = '0 seconds' where key = 'ros_call_budget';

-- One slot, one part per call.
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-01-01',
  '[{"slot_number":1,"ros_percentage":1.5,"scheduled_for":"2035-01-01T10:00:00+01:00"}]');
select tests.clear_authentication();
select id as s1 from app.ros_slots where distribution_date = '2035-01-01' and slot_number = 1 \gset
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-01-01T10:00:00+01:00'), 1, 'the first call pays a part of the slot');
select tests.clear_authentication();
select is((select status from app.ros_slots where id = :'s1'), 'EXECUTING', 'the slot is stored EXECUTING after its first part');
select is((select users_processed::bigint from app.ros_slots where id = :'s1'), tests.mine_in_first_parts(1),
  'its count is the stakes of the first part');
select is((select part_after from app.ros_slots where id = :'s1'), (select id from app.stakes order by id offset 2 limit 1),
  'its cursor is the last stake of the part');
select is((select runs from app.ros_slots where id = :'s1'), 1, 'one run so far');
select is((select count(*) from app.ros_payouts where distribution_date = '2035-01-01'), tests.mine_in_first_parts(1),
  'only the first part is paid');
select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_distribution_status('2035-01-01') #>> '{slots,0,status}', 'EXECUTING',
  'the dashboard reads EXECUTING between parts');
select is(public.admin_distribution_status('2035-01-01') ->> 'status', 'EXECUTING', 'and so does the day');
select throws_ok($$select public.admin_retry_slot('2035-01-01', 1)$$, 'PT409', null,
  'a slot between parts cannot be retried');
select throws_ok($$select public.admin_add_slots('2035-01-01',
  '[{"slot_number":2,"ros_percentage":1,"scheduled_for":"2035-01-01T12:00:00+01:00"}]')$$, 'PT409', null,
  'its day cannot change between parts');
select tests.clear_authentication();

select tests.call_until_done('2035-01-01', '2035-01-01T10:00:00+01:00');
select is((select count(*)::int from calls where answer = 1), :parts - 1, 'the remaining parts take one call each');
select is((select count(*) from calls c where c.answer = 1 and c.states <> 'EXECUTING'
             and c.n < (select max(n) from calls where answer = 1)), 0::bigint,
  'the slot stays EXECUTING until its last part');
select is((select count(*) from calls c where c.answer = 1 and c.processed <> tests.mine_in_first_parts(c.n + 1)), 0::bigint,
  'after each call its count is the stakes of the parts paid so far');
select is((select string_agg(status || ':' || users_processed || ':' || total_distributed || ':' || runs, ' ')
             from app.ros_slots where id = :'s1'), 'COMPLETED:7:10.90:1', 'COMPLETED with all seven stakes, one run');
select ok((select executed_at is not null and part_after is null and error_message is null from app.ros_slots where id = :'s1'),
  'executed_at set, cursor cleared');
select is((select count(*) from app.ledger_transactions where idempotency_key like 'ros:slot:' || :'s1' || ':%'),
  (select count(distinct ledger_transaction_id) from app.ros_payouts where distribution_date = '2035-01-01'),
  'one ledger transaction per part that paid, none for parts that paid nobody');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances after parts');

-- The same slot paid whole (one part over every stake) pays exactly the same amounts.
update app.settings set value = '1000000' where key = 'ros_part_stakes';
update app.stakes s set total_earned = 0 where id in (select stake_id from mine);
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-01-02',
  '[{"slot_number":1,"ros_percentage":1.5,"scheduled_for":"2035-01-02T10:00:00+01:00"}]');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-01-02T10:00:00+01:00'), 1, 'one call pays the slot whole');
select tests.clear_authentication();
select is((select status from app.ros_slots where distribution_date = '2035-01-02'), 'COMPLETED', 'COMPLETED in one part');
select is((select string_agg(stake_id || ':' || amount, ',' order by stake_id) from app.ros_payouts where distribution_date = '2035-01-02'),
          (select string_agg(stake_id || ':' || amount, ',' order by stake_id) from app.ros_payouts where distribution_date = '2035-01-01'),
          'parts pay exactly what the slot paid whole');

-- Two slots due at once go part by part together (one pass, the part's stakes shared: 6 / 2 = 3
-- stakes), each with its own counts, and the caps carry from one slot to the next inside a part.
update app.settings set value = '6' where key = 'ros_part_stakes';
update app.stakes s set total_earned = 150 + m.n from mine m where s.id = m.stake_id;
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-01-03', '[
  {"slot_number":1,"ros_percentage":30,"scheduled_for":"2035-01-03T10:00:00+01:00"},
  {"slot_number":2,"ros_percentage":40,"scheduled_for":"2035-01-03T11:00:00+01:00"}]');
select tests.clear_authentication();
truncate calls;
select tests.call_until_done('2035-01-03', '2035-01-03T11:00:00+01:00');
select is((select count(*)::int from calls where answer = 2), :parts, 'both slots advance together, a part per call');
select is((select states from calls where n = 1), 'EXECUTING,EXECUTING', 'both EXECUTING after the first part');
-- Stake n (100 + n, cap 200 + 2n, earned 150 + n): slot 1 pays 30 % = 30.0 + 0.3n; slot 2 pays what
-- remains of the cap: 200 + 2n - 150 - n - (30 + 0.3n) = 20 + 0.7n (below its 40 %).
select is((select string_agg(m.n || ':' || p.slot_number || ':' || p.amount, ' ' order by m.n, p.slot_number)
             from app.ros_payouts p join mine m on m.stake_id = p.stake_id where p.distribution_date = '2035-01-03'),
  (select string_agg(n || ':1:' || (30 + 0.3 * n)::numeric(20, 2) || ' ' || n || ':2:' || (20 + 0.7 * n)::numeric(20, 2), ' ' order by n) from mine),
  'each stake paid slot 1 in full and slot 2 up to its cap');
select is((select string_agg(slot_number || ':' || status || ':' || users_processed, ' ' order by slot_number)
             from app.ros_slots where distribution_date = '2035-01-03'), '1:COMPLETED:7 2:COMPLETED:7', 'both COMPLETED with their counts');
select is((select count(*) from app.stakes where id in (select stake_id from mine) and status = 'completed'), 7::bigint,
  'every stake reached its cap');

-- A part that fails: the slot is FAILED with the reason; the parts before it stay paid and counted.
update app.settings set value = '3' where key = 'ros_part_stakes';
update app.stakes s set total_earned = 0, status = 'active', completed_at = null where id in (select stake_id from mine);
select stake_id as victim from mine order by stake_id offset 4 limit 1 \gset
create function tests.fail_victim() returns trigger language plpgsql as $$
begin
  if new.distribution_date = '2035-01-04' and new.stake_id = current_setting('tests.victim')::uuid then
    raise exception 'injected failure for one stake';
  end if;
  return new;
end $$;
select from set_config('tests.victim', :'victim', false);
create trigger zz_fail_victim before insert on app.ros_payouts for each row execute function tests.fail_victim();
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-01-04',
  '[{"slot_number":1,"ros_percentage":2,"scheduled_for":"2035-01-04T10:00:00+01:00"}]');
select tests.clear_authentication();
select id as s4 from app.ros_slots where distribution_date = '2035-01-04' \gset
truncate calls;
select tests.call_until_done('2035-01-04', '2035-01-04T10:00:00+01:00');
select is((select status from app.ros_slots where id = :'s4'), 'FAILED', 'the slot is FAILED at the failing part');
select matches((select error_message from app.ros_slots where id = :'s4'), 'injected failure for one stake', 'with the reason');
select ok((select users_processed > 0 and users_processed < 7 from app.ros_slots where id = :'s4'),
  'the parts paid before the failure stay counted');
select is((select count(*)::int from app.ros_payouts where distribution_date = '2035-01-04'),
  (select users_processed from app.ros_slots where id = :'s4'), 'and paid, exactly as counted');
select is((select count(*) from app.ros_payouts where distribution_date = '2035-01-04' and stake_id >= :'victim'), 0::bigint,
  'nothing of the failing part is paid');
drop trigger zz_fail_victim on app.ros_payouts;

-- The retry pays what is left; one part within its budget, the rest handed to the executor.
select users_processed as before_retry from app.ros_slots where id = :'s4' \gset
select tests.authenticate_as(:'adm', 'aal2');
select public.admin_retry_slot('2035-01-04', 1) as retry \gset
select tests.clear_authentication();
select is((:'retry'::jsonb ->> 'queued')::boolean, true, 'a retry its budget cannot finish is queued');
select is(:'retry'::jsonb ->> 'status', 'EXECUTING', 'and answers EXECUTING');
select is((:'retry'::jsonb ->> 'paid_now')::int,
  (select users_processed from app.ros_slots where id = :'s4') - :before_retry, 'paid_now is what this call paid');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.admin_retry_slot('2035-01-04', 1)$$, 'PT409', null,
  'a queued retry cannot be retried again');
select tests.clear_authentication();
truncate calls;
-- The executor continues it (it is EXECUTING), whatever p_now says.
select tests.call_until_done('2035-01-04', '2000-01-01T00:00:00Z');
select is((select status || ':' || users_processed || ':' || runs from app.ros_slots where id = :'s4'), 'COMPLETED:7:2',
  'the executor finished the retry: every stake paid, two runs');
select is((select count(*) from app.ros_payouts where distribution_date = '2035-01-04'), 7::bigint, 'each stake once');
select is((select count(*) from app.stakes s where s.id in (select stake_id from mine)
             and s.total_earned <> (select sum(p.amount) from app.ros_payouts p where p.stake_id = s.id and p.distribution_date = '2035-01-04')),
  0::bigint, 'each stake earned exactly its one payout');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances after the failure and the retry');

-- A call cancelled inside a part (a statement timeout) undoes that call's parts and cursor; the
-- next call pays them once.
update app.stakes s set total_earned = 0 where id in (select stake_id from mine);
create function tests.cancel_victim() returns trigger language plpgsql as $$
begin
  if new.distribution_date = '2035-01-05' and new.stake_id = current_setting('tests.victim')::uuid then
    raise exception 'canceling statement due to statement timeout' using errcode = 'query_canceled';
  end if;
  return new;
end $$;
create trigger zz_cancel_victim before insert on app.ros_payouts for each row execute function tests.cancel_victim();
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-01-05',
  '[{"slot_number":1,"ros_percentage":2,"scheduled_for":"2035-01-05T10:00:00+01:00"}]');
select tests.clear_authentication();
select id as s5 from app.ros_slots where distribution_date = '2035-01-05' \gset
update app.settings set value = '60 seconds' where key = 'ros_call_budget';
-- (pgTAP's throws_ok, like WHEN OTHERS, does not catch a cancellation: caught here by name.)
create function tests.cancelled_call(p_now timestamptz) returns text language plpgsql as $$
begin
  perform tests.authenticate_as_service();
  perform public.execute_due_slots(p_now);
  return 'not cancelled';
exception when query_canceled then
  return sqlstate;
end $$;
select is(tests.cancelled_call('2035-01-05T10:00:00+01:00'), '57014', 'a call cancelled in the middle of a part fails');
select tests.clear_authentication();
select is((select status || ':' || users_processed || ':' || coalesce(part_after::text, '-') from app.ros_slots where id = :'s5'),
  'PENDING:0:-', 'the cancelled call left nothing behind: no count, no cursor');
select is((select count(*) from app.ros_payouts where distribution_date = '2035-01-05'), 0::bigint, 'and no payout');
drop trigger zz_cancel_victim on app.ros_payouts;
-- With a budget, one call pays every part.
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-01-05T10:00:00+01:00'), 1, 'the next call pays the slot');
select tests.clear_authentication();
select is((select status || ':' || users_processed from app.ros_slots where id = :'s5'), 'COMPLETED:7',
  'all its parts in one call within the budget');
select is((select count(*) from app.ros_payouts where distribution_date = '2035-01-05'), 7::bigint, 'each stake once');

-- The budget: the setting, never more than half the statement timeout in force.
set local statement_timeout = '8s';
select is(app.ros_call_budget(), interval '4 seconds', 'under an 8 s timeout a call has 4 s');
set local statement_timeout = '2min';
select is(app.ros_call_budget(), interval '60 seconds', 'under 2 minutes it has the setting''s 60 s');
set local statement_timeout = 0;
select is(app.ros_call_budget(), interval '60 seconds', 'without a timeout, the setting');

-- A part that ran out of stakes is mostly fixed cost: it must not forecast a full part at many
-- times its cost and end the call before the next pass. Four slots, three a pass, each part's
-- statement slowed by 0.2 s: read per stake covered, the first pass would forecast ~10 ms a stake
-- and a full next part past the 60 s budget; read per stake of the part's size, it continues.
update app.settings set value = '50000' where key = 'ros_part_stakes';
update app.settings set value = '3' where key = 'ros_slots_per_pass';
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2035-01-06', '[
  {"slot_number":1,"ros_percentage":1,"scheduled_for":"2035-01-06T10:00:00+01:00"},
  {"slot_number":2,"ros_percentage":1,"scheduled_for":"2035-01-06T11:00:00+01:00"},
  {"slot_number":3,"ros_percentage":1,"scheduled_for":"2035-01-06T12:00:00+01:00"},
  {"slot_number":4,"ros_percentage":1,"scheduled_for":"2035-01-06T13:00:00+01:00"}]');
select tests.clear_authentication();
create function tests.slow_part() returns trigger language plpgsql as $$
begin perform pg_sleep(0.2); return null; end $$;
create trigger zz_slow_part after insert on app.ros_payouts for each statement execute function tests.slow_part();
select tests.authenticate_as_service();
select is(public.execute_due_slots('2035-01-06T14:00:00+01:00'), 4, 'one call runs both passes');
select tests.clear_authentication();
drop trigger zz_slow_part on app.ros_payouts;
select is((select string_agg(status, ' ' order by slot_number) from app.ros_slots where distribution_date = '2035-01-06'),
  'COMPLETED COMPLETED COMPLETED COMPLETED', 'all four COMPLETED');

select * from finish();
rollback;
