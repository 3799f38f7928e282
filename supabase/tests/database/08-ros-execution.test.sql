-- Slot execution and the failures F1-F5 of ARCHITECTURE.md, each as a regression test that fails
-- on the buggy design. Plus caps, rounding, compensation, eligibility and alerts.
begin;
select plan(53);

select tests.create_user('a@test.io') as a \gset
select tests.create_user('b@test.io') as b \gset
select tests.create_user('late@test.io') as late \gset
select tests.create_user('admin@test.io', true) as adm \gset
select tests.authenticate_as_service();
select from public.credit_funded_wallet(:'a', 1000, 'fa');
select from public.credit_funded_wallet(:'b', 1000, 'fb');
select from public.credit_funded_wallet(:'late', 1000, 'fl');
-- Stakes are back-dated so that they exist before the slots (created_at is "now" otherwise).
select tests.authenticate_as(:'a');
select public.create_stake(100) ->> 'stake_id' as sa \gset
select tests.authenticate_as(:'b');
select public.create_stake(33.33) ->> 'stake_id' as sb \gset
select tests.clear_authentication();
update app.stakes set created_at = '2032-01-01 00:00+01' where id in (:'sa', :'sb');
-- Other days' pending slots (a dev database's seed) must not run in this scenario.
update app.ros_slots set status = 'CANCELLED' where status = 'PENDING';
update app.stakes set status = 'cancelled' where status = 'active' and id not in (:'sa', :'sb');

-- F1: two slots the same day both pay (the old "already paid today" check skipped slot 2).
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2032-01-01', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2032-01-01T12:56:00+01:00"},{"slot_number":2,"ros_percentage":1,"scheduled_for":"2032-01-01T12:58:59+01:00"}]');
select tests.authenticate_as_service();
-- F5: second precision. At 12:58:58 only slot 1 is due; slot 2 at 12:58:59 exactly.
select is(public.execute_due_slots('2032-01-01T12:58:58+01:00'), 1, 'F5: at 12:58:58 only the 12:56:00 slot runs');
select is(public.execute_due_slots('2032-01-01T12:58:58+01:00'), 0, 'running again runs nothing');
select is(public.execute_due_slots('2032-01-01T12:58:59+01:00'), 1, 'F5: the 12:58:59 slot runs at 12:58:59, not 12:59');
select tests.clear_authentication();
select is((select count(*) from app.ros_payouts where distribution_date = '2032-01-01'), 4::bigint, 'F1: both slots paid both stakes');
select is((select count(*) from app.ros_payouts where distribution_date = '2032-01-01' and slot_number = 2), 2::bigint, 'F1: slot 2 was not skipped');
select tests.authenticate_as(:'a');
select is((select balance from public.my_wallets where kind = 'earnings'), 2.00::numeric, 'two 1 % slots on 100.00 give 2.00 in earnings');
select is((select total_earned from public.my_stakes), 2.00::numeric, 'total earned +2.00');
select is((select count(*) from public.my_transactions where type = 'Daily ROS Payout' and status = 'Completed'), 2::bigint, 'two Daily ROS Payout rows');
select is(public.my_today_profit('2032-01-01'), 2.00::numeric, 'my_today_profit for the day');
-- Rounding down to the cent: 1 % of 33.33 is 0.3333 -> 0.33.
select tests.authenticate_as(:'b');
select is((select balance from public.my_wallets where kind = 'earnings'), 0.66::numeric, 'payouts round down to the cent (2 x 0.33)');
select tests.authenticate_as(:'adm', 'aal1');
select public.admin_distribution_status('2032-01-01') as st \gset
select is((:'st'::jsonb) ->> 'status', 'COMPLETED', 'F2: the day is COMPLETED once every slot paid');
select is(((:'st'::jsonb) #>> '{slots,0,users_processed}')::int, 2, 'users_processed counts the stakes paid');
select is((:'st'::jsonb) #>> '{slots,0,total_distributed}', '1.33', 'total_distributed is the sum paid');
select is((:'st'::jsonb) ->> 'total_distributed', '2.66', 'the declaration sums its slots');
select isnt((:'st'::jsonb) #>> '{slots,1,executed_at}', null, 'executed_at is set');

-- F4: re-queueing slots 1-4 after 1-2 completed keeps 1-2 untouched and adds 3-4.
select tests.authenticate_as(:'adm', 'aal2');
select public.admin_queue_distribution('2032-01-01', '[{"slot_number":1,"ros_percentage":5,"scheduled_for":"2032-01-01T12:56:00+01:00"},{"slot_number":2,"ros_percentage":5,"scheduled_for":"2032-01-01T12:58:59+01:00"},{"slot_number":3,"ros_percentage":1,"scheduled_for":"2032-01-01T14:00:00+01:00"},{"slot_number":4,"ros_percentage":1,"scheduled_for":"2032-01-01T15:00:00+01:00"}]') as m \gset
select is((:'m'::jsonb) #>> '{slots,0,status}', 'COMPLETED', 'F4: completed slot 1 untouched');
select is(((:'m'::jsonb) #>> '{slots,0,ros_percentage}')::numeric, 1::numeric, 'F4: completed slot 1 keeps its percentage');
select is((:'m'::jsonb) #>> '{slots,2,status}', 'PENDING', 'F4: slot 3 added');
select is(jsonb_array_length((:'m'::jsonb) -> 'slots'), 4, 'F4: four slots');
select is((:'m'::jsonb) -> 'untouched_slots', '[1,2]'::jsonb, 'the response names the slots it left alone');
select is((:'m'::jsonb) ->> 'status', 'PARTIALLY_COMPLETED', 'some ran, some pending: PARTIALLY_COMPLETED');

-- Eligibility: a stake created after a slot's time is not paid by it.
select tests.authenticate_as(:'late');
select public.create_stake(100) ->> 'stake_id' as sl \gset
select tests.clear_authentication();
update app.stakes set created_at = '2032-01-01 14:30+01' where id = :'sl';

-- F2: a slot that fails is FAILED with the reason, and pays nothing.
create function tests.fail_slot_3() returns trigger language plpgsql as $$
begin
  if new.slot_number = 3 then raise exception 'injected payout failure'; end if;
  return new;
end $$;
create trigger zz_fail_slot_3 before insert on app.ros_payouts for each row execute function tests.fail_slot_3();
select tests.authenticate_as_service();
select is(public.execute_due_slots('2032-01-01T15:00:00+01:00'), 2, 'slots 3 and 4 ran');
select tests.clear_authentication();
select is((select status from app.ros_slots where distribution_date = '2032-01-01' and slot_number = 3), 'FAILED', 'F2: the failing slot is FAILED, not COMPLETED');
select matches((select error_message from app.ros_slots where distribution_date = '2032-01-01' and slot_number = 3), 'injected payout failure', 'F2: with the error');
select is((select count(*) from app.ros_payouts where distribution_date = '2032-01-01' and slot_number = 3), 0::bigint, 'F2/F3: a failed slot leaves no payout behind');
select is((select status from app.ros_slots where distribution_date = '2032-01-01' and slot_number = 4), 'COMPLETED', 'a failure in slot 3 does not stop slot 4');
select is((select count(*) from app.ros_payouts where distribution_date = '2032-01-01' and slot_number = 4), 3::bigint, 'slot 4 paid the two old stakes and the 14:30 stake');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'F3: the ledger is balanced after a failed slot');
select tests.authenticate_as(:'adm', 'aal1');
select is(public.admin_distribution_status('2032-01-01') ->> 'status', 'FAILED', 'nothing pending and a slot FAILED: FAILED');
select ok(public.admin_ros_alerts('2032-01-01') @> '[{"kind":"slot_failed","slot_number":3}]', 'alert: slot_failed');
select ok(public.admin_ros_alerts('2032-01-01') @> '[{"kind":"partial_completion","slot_number":null}]', 'alert: the day completed only partly');

-- Compensation: retry pays exactly the missing stakes, once.
select tests.clear_authentication();
drop trigger zz_fail_slot_3 on app.ros_payouts;
select tests.authenticate_as(:'adm', 'aal2');
select public.admin_retry_slot('2032-01-01', 3) as r \gset
select is(((:'r'::jsonb) ->> 'paid_now')::int, 2, 'retry pays the two stakes eligible at 14:00 (not the 14:30 one)');
select is((:'r'::jsonb) ->> 'status', 'COMPLETED', 'a repaired slot is COMPLETED');
select is(((public.admin_retry_slot('2032-01-01', 3)) ->> 'paid_now')::int, 0, 'a second retry pays 0');
select is(((public.admin_retry_slot('2032-01-01', 1)) ->> 'paid_now')::int, 0, 'retry of a fully paid COMPLETED slot pays 0');
select is(public.admin_distribution_status('2032-01-01') ->> 'status', 'COMPLETED', 'the day is COMPLETED after repair');

-- Missing payouts: a stake whose transaction committed after the slot ran, though it was created
-- before the slot's time (a real race), is detected and compensated exactly once.
select tests.create_user('racer@test.io') as racer \gset
select tests.authenticate_as_service();
select from public.credit_funded_wallet(:'racer', 100, 'fr');
select tests.authenticate_as(:'racer');
select public.create_stake(50) ->> 'stake_id' as sr \gset
select tests.clear_authentication();
update app.stakes set created_at = '2032-01-01 12:00+01' where id = :'sr';
select tests.authenticate_as(:'adm', 'aal1');
select ok(public.admin_ros_alerts('2032-01-01') @> '[{"kind":"missing_payouts","slot_number":1,"detail":{"missing":1}}]', 'alert: missing_payouts names the slot and the count');
select ok(public.admin_ros_alerts('2032-01-01') @> '[{"kind":"partial_completion","slot_number":4}]', 'alert: a slot that paid only part is a partial completion');
select tests.authenticate_as(:'adm', 'aal2');
select is(((public.admin_retry_slot('2032-01-01', 1)) ->> 'paid_now')::int, 1, 'retry pays the one missing stake');
select public.admin_retry_slot('2032-01-01', n) from generate_series(2, 4) n;
select tests.authenticate_as(:'adm', 'aal1');
select is(public.admin_ros_alerts('2032-01-01'), '[]'::jsonb, 'no alerts once repaired');

-- Caps: a stake stops at 200 % and is completed.
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2032-01-02', '[{"slot_number":1,"ros_percentage":100,"scheduled_for":"2032-01-02T10:00:00+01:00"},{"slot_number":2,"ros_percentage":100,"scheduled_for":"2032-01-02T11:00:00+01:00"}]');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2032-01-02T11:00:00+01:00'), 2, 'two 100 % slots ran');
select tests.clear_authentication();
select is((select total_earned from app.stakes where id = :'sa'), 200.00::numeric, 'the 100.00 stake earned exactly its 200 % cap');
select is((select status from app.stakes where id = :'sa'), 'completed', 'a stake that reaches its cap is completed');
select is((select amount from app.ros_payouts where stake_id = :'sa' and distribution_date = '2032-01-02' and slot_number = 2), 96.00::numeric, 'the last payout is what remained under the cap');
select is((select count(*) from app.stakes where total_earned > floor(amount * max_return_percent) / 100), 0::bigint, 'no stake above its cap');
select throws_ok($$update app.stakes set total_earned = 1000 where id = '$$ || :'sa' || $$'$$, '23514', null, 'the database itself refuses a total above the cap');
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2032-01-03', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2032-01-03T10:00:00+01:00"}]');
select tests.authenticate_as_service();
select from public.execute_due_slots('2032-01-03T10:00:00+01:00');
select tests.clear_authentication();
select is((select count(*) from app.ros_payouts where stake_id = :'sa' and distribution_date = '2032-01-03'), 0::bigint, 'a completed stake is not paid again');

-- Invariants after every scenario.
select is((select count(*) from app.ledger_violations()), 0::bigint, 'ledger: transactions balance and balances equal entries');
select is((select count(*) from app.stakes s where s.total_earned <> coalesce((select sum(p.amount) from app.ros_payouts p where p.stake_id = s.id), 0)), 0::bigint, 'total_earned equals the sum of payouts');
select is((select count(*) from (select 1 from app.ros_payouts group by stake_id, distribution_date, slot_number having count(*) > 1) d), 0::bigint, 'at most one payout per (stake, date, slot)');
select is((select sum(balance) from app.accounts where kind = 'earnings'), (select sum(amount) from app.ros_payouts), 'earnings wallets hold exactly the payouts');
select is((select -balance from app.accounts where kind = 'platform_ros_expense'), (select sum(amount) from app.ros_payouts), 'the platform expense mirrors the payouts');
-- The sum over slots never exceeds the declared percentage (each slot rounds down).
select is((select count(*) from (select p.stake_id, p.distribution_date, sum(p.amount) as paid, max(k.amount) as amount
            from app.ros_payouts p join app.stakes k on k.id = p.stake_id group by 1, 2) t
          where t.paid > t.amount * (select sum(ros_percentage) from app.ros_slots s where s.distribution_date = t.distribution_date and s.status = 'COMPLETED') / 100), 0::bigint,
  'no day pays a stake more than the declared percentage');

select * from finish();
rollback;
