-- Several due slots paid in one pass (08_ros_execution): the same amounts as one slot after another,
-- caps reached in the middle of the batch, stakes eligible for only the later slots, per-slot counts
-- and ledger transactions, and the fall-back to one slot at a time.
begin;
select plan(37);

select tests.create_user('a@batch.io') as a \gset
select tests.create_user('b@batch.io') as b \gset
select tests.create_user('c@batch.io') as c \gset
select tests.create_user('admin@batch.io', true) as adm \gset
select tests.authenticate_as_service();
select from public.credit_funded_wallet(:'a', 1000, 'batch-fa');
select from public.credit_funded_wallet(:'b', 1000, 'batch-fb');
select from public.credit_funded_wallet(:'c', 1000, 'batch-fc');
select tests.authenticate_as(:'a');
select public.create_stake(100) ->> 'stake_id' as sa \gset
select tests.authenticate_as(:'b');
select public.create_stake(40) ->> 'stake_id' as sb \gset
select tests.authenticate_as(:'c');
select public.create_stake(100) ->> 'stake_id' as sc \gset
select tests.clear_authentication();
update app.ros_slots set status = 'CANCELLED' where status = 'PENDING';
update app.stakes set status = 'cancelled' where status = 'active' and id not in (:'sa', :'sb', :'sc');
-- c exists from 10:30: slot 1 (10:00) must not pay it, slots 2-4 must.
update app.stakes set created_at = '2034-01-01 00:00+01' where id in (:'sa', :'sb');
update app.stakes set created_at = '2034-01-01 10:30+01' where id = :'sc';

-- Four slots due at once. a (100.00, cap 200.00): 60 + 60 + 80 (what remains of a 90 due) + 0.
-- b (40.00, cap 80.00): 24 + 24 + 32 (of 36) + 0. c (100.00): slot 1 not eligible, 60 + 90 + 10.
select tests.authenticate_as(:'adm', 'aal2');
\set four_slots '[{"slot_number":1,"ros_percentage":60,"scheduled_for":"2034-01-01T10:00:00+01:00"},{"slot_number":2,"ros_percentage":60,"scheduled_for":"2034-01-01T11:00:00+01:00"},{"slot_number":3,"ros_percentage":90,"scheduled_for":"2034-01-01T12:00:00+01:00"},{"slot_number":4,"ros_percentage":10,"scheduled_for":"2034-01-01T13:00:00+01:00"}]'
select from public.admin_queue_distribution('2034-01-01', :'four_slots');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2034-01-01T13:00:00+01:00'), 4, 'four due slots ran in one call');
select tests.clear_authentication();

select is((select string_agg(slot_number || ':' || amount, ' ' order by slot_number) from app.ros_payouts where stake_id = :'sa'),
          '1:60.00 2:60.00 3:80.00', 'a: full payouts, then what remained under the cap, then nothing');
select is((select string_agg(slot_number || ':' || amount, ' ' order by slot_number) from app.ros_payouts where stake_id = :'sb'),
          '1:24.00 2:24.00 3:32.00', 'b: capped in slot 3 as well');
select is((select string_agg(slot_number || ':' || amount, ' ' order by slot_number) from app.ros_payouts where stake_id = :'sc'),
          '2:60.00 3:90.00 4:10.00', 'c: only the slots after it existed');
select is((select status || ' ' || total_earned from app.stakes where id = :'sa'), 'completed 200.00', 'a reached its cap and is completed');
select is((select status || ' ' || total_earned from app.stakes where id = :'sb'), 'completed 80.00', 'b reached its cap and is completed');
select is((select status || ' ' || total_earned from app.stakes where id = :'sc'), 'active 160.00', 'c is still active');
select is((select string_agg(slot_number || ':' || status || ':' || users_processed || ':' || total_distributed, ' ' order by slot_number)
             from app.ros_slots where distribution_date = '2034-01-01'),
          '1:COMPLETED:2:84.00 2:COMPLETED:3:144.00 3:COMPLETED:3:202.00 4:COMPLETED:1:10.00',
          'each slot has its own counts and totals');
select is((select balance from app.accounts where id = app.account_id(:'a', 'earnings')), 200.00::numeric, 'a''s wallet holds its payouts');
select is((select balance from app.accounts where id = app.account_id(:'c', 'earnings')), 160.00::numeric, 'c''s wallet holds its payouts');
-- Each slot run has its own balanced ledger transaction, keyed like a single run.
select is((select count(*) from app.ledger_transactions t join app.ros_slots s on t.idempotency_key = 'ros:slot:' || s.id || ':run:1'
            where s.distribution_date = '2034-01-01'), 4::bigint, 'one ledger transaction per slot run');
select is((select count(*) from app.ledger_entries e join app.ledger_transactions t on t.id = e.transaction_id
            join app.ros_slots s on t.idempotency_key = 'ros:slot:' || s.id || ':run:1'
            where s.distribution_date = '2034-01-01' and s.slot_number = 4), 2::bigint, 'slot 4: c''s entry and the platform''s');
select is((select count(*) from app.ros_payouts p join app.ros_slots s on s.distribution_date = p.distribution_date and s.slot_number = p.slot_number
            join app.ledger_transactions t on t.id = p.ledger_transaction_id
            where s.distribution_date = '2034-01-01' and t.idempotency_key <> 'ros:slot:' || s.id || ':run:1'), 0::bigint,
          'every payout points at its own slot''s ledger transaction');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances');
select is((select count(*) from app.stakes s where s.total_earned <> coalesce((select sum(p.amount) from app.ros_payouts p where p.stake_id = s.id), 0)), 0::bigint, 'total_earned equals the sum of payouts');
select tests.authenticate_as(:'adm', 'aal1');
select is(public.admin_ros_alerts('2034-01-01'), '[]'::jsonb, 'no alerts: every slot paid everyone it owed');

-- The same slots one call at a time on another day give the same amounts (the batch is only faster).
select tests.clear_authentication();
update app.stakes set status = 'active', total_earned = 0, completed_at = null where id in (:'sa', :'sb', :'sc');
update app.stakes set created_at = '2034-01-02 00:00+01' where id in (:'sa', :'sb');
update app.stakes set created_at = '2034-01-02 10:30+01' where id = :'sc';
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2034-01-02', replace(:'four_slots', '2034-01-01', '2034-01-02')::jsonb);
select tests.authenticate_as_service();
select is(public.execute_due_slots('2034-01-02T10:00:00+01:00'), 1, 'slot 1 alone');
select is(public.execute_due_slots('2034-01-02T11:00:00+01:00'), 1, 'slot 2 alone');
select is(public.execute_due_slots('2034-01-02T12:00:00+01:00'), 1, 'slot 3 alone');
select is(public.execute_due_slots('2034-01-02T13:00:00+01:00'), 1, 'slot 4 alone');
select tests.clear_authentication();
select is((select string_agg(stake_id || ':' || slot_number || ':' || amount, ',' order by stake_id, slot_number) from app.ros_payouts where distribution_date = '2034-01-02'),
          (select string_agg(stake_id || ':' || slot_number || ':' || amount, ',' order by stake_id, slot_number) from app.ros_payouts where distribution_date = '2034-01-01'),
          'one slot per call pays exactly what the batch paid');

-- The batch itself refuses a slot that already has payouts (the caller then runs slots one by one).
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2034-01-03', '[
  {"slot_number":1,"ros_percentage":1,"scheduled_for":"2034-01-03T10:00:00+01:00"},
  {"slot_number":2,"ros_percentage":1,"scheduled_for":"2034-01-03T11:00:00+01:00"}]');
select tests.clear_authentication();
update app.stakes set status = 'active', total_earned = 0, completed_at = null where id in (:'sa', :'sb', :'sc');
select id as s31 from app.ros_slots where distribution_date = '2034-01-03' and slot_number = 1 \gset
select id as s32 from app.ros_slots where distribution_date = '2034-01-03' and slot_number = 2 \gset
insert into app.ros_payouts (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
select id, user_id, '2034-01-03', 2, earnings_account_id, 0.01, 1 from app.stakes where id = :'sa';
select throws_ok(format('select app.pay_next_part(array[%s, %s]::bigint[], 1000)', :'s31', :'s32'), 'P0001',
  'a slot of the batch already has payouts', 'the batch refuses slots that were paid already');
delete from app.ros_payouts where distribution_date = '2034-01-03';

-- Fall-back: a slot that fails inside a batch fails alone; the others of the batch pay.
create function tests.fail_slot_2() returns trigger language plpgsql as $$
begin
  if new.distribution_date = '2034-01-03' and new.slot_number = 2 then raise exception 'injected failure in slot 2'; end if;
  return new;
end $$;
create trigger zz_fail_slot_2 before insert on app.ros_payouts for each row execute function tests.fail_slot_2();
select tests.authenticate_as_service();
select is(public.execute_due_slots('2034-01-03T11:00:00+01:00'), 2, 'both slots ran');
select tests.clear_authentication();
select is((select status from app.ros_slots where id = :'s31'), 'COMPLETED', 'slot 1 paid');
select is((select users_processed from app.ros_slots where id = :'s31'), 3, 'slot 1 paid all three stakes');
select is((select status from app.ros_slots where id = :'s32'), 'FAILED', 'slot 2 is FAILED');
select matches((select error_message from app.ros_slots where id = :'s32'), 'injected failure in slot 2', 'with its own error');
select is((select count(*) from app.ros_payouts where distribution_date = '2034-01-03' and slot_number = 2), 0::bigint, 'slot 2 paid nobody');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances after the fall-back');
drop trigger zz_fail_slot_2 on app.ros_payouts;
select tests.authenticate_as(:'adm', 'aal2');
select is((public.admin_retry_slot('2034-01-03', 2) ->> 'paid_now')::int, 3, 'a retry pays the failed slot');
select tests.clear_authentication();
select is((select count(*) from app.stakes s where s.total_earned <> coalesce((select sum(p.amount) from app.ros_payouts p where p.stake_id = s.id and p.distribution_date = '2034-01-03'), 0)
             and s.id in (:'sa', :'sb', :'sc')), 0::bigint, 'each stake earned exactly the day''s payouts');

-- The batch path itself (execute_due_slots would fall back silently): called directly, it pays.
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2034-01-04', '[
  {"slot_number":1,"ros_percentage":1,"scheduled_for":"2034-01-04T10:00:00+01:00"},
  {"slot_number":2,"ros_percentage":2,"scheduled_for":"2034-01-04T11:00:00+01:00"}]');
select tests.clear_authentication();
select lives_ok(format('select app.pay_next_part(array[%s, %s]::bigint[], 1000)',
  (select id from app.ros_slots where distribution_date = '2034-01-04' and slot_number = 1),
  (select id from app.ros_slots where distribution_date = '2034-01-04' and slot_number = 2)), 'the batch runs two slots');
select is((select string_agg(slot_number || ':' || status || ':' || users_processed || ':' || total_distributed || ':' || runs, ' ' order by slot_number)
             from app.ros_slots where distribution_date = '2034-01-04'),
          '1:COMPLETED:3:2.40:1 2:COMPLETED:3:4.80:1', 'both COMPLETED with their own counts, one run each');

-- Passes: with at most 3 slots per pass, the four slots run as a pass of 3 and then one slot; the
-- caps carry over from one pass to the next, so the amounts are those of the single pass.
update app.settings set value = '3' where key = 'ros_slots_per_pass';
update app.stakes set status = 'active', total_earned = 0, completed_at = null where id in (:'sa', :'sb', :'sc');
update app.stakes set created_at = '2034-01-06 00:00+01' where id in (:'sa', :'sb');
update app.stakes set created_at = '2034-01-06 10:30+01' where id = :'sc';
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2034-01-06', replace(:'four_slots', '2034-01-01', '2034-01-06')::jsonb);
select tests.authenticate_as_service();
select is(public.execute_due_slots('2034-01-06T13:00:00+01:00'), 4, 'four slots ran in two passes');
select tests.clear_authentication();
select is((select string_agg(stake_id || ':' || slot_number || ':' || amount, ',' order by stake_id, slot_number) from app.ros_payouts where distribution_date = '2034-01-06'),
          (select string_agg(stake_id || ':' || slot_number || ':' || amount, ',' order by stake_id, slot_number) from app.ros_payouts where distribution_date = '2034-01-01'),
          'passes pay exactly what one pass paid');
select is((select count(*) from app.ros_slots where distribution_date = '2034-01-06' and status = 'COMPLETED'), 4::bigint, 'all four COMPLETED');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances after passes');

select * from finish();
rollback;
