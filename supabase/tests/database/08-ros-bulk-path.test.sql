-- The slot's bulk path (08_ros_execution, with the checks of 04_ledger and 07_ros_schema): wallets credited per wallet when stakes share one,
-- compensation through the anti-join, the size-dependent reference checks (both plans must still
-- refuse a dangling reference), and a user's payouts read through their stakes.
begin;
select plan(35);

select tests.create_user('u@bulk.io') as u \gset
select tests.create_user('o@bulk.io') as o \gset
select tests.create_user('admin@bulk.io', true) as adm \gset
select tests.authenticate_as_service();
select from public.credit_funded_wallet(:'u', 1000, 'bulk-fu');
select from public.credit_funded_wallet(:'o', 1000, 'bulk-fo');
select tests.authenticate_as(:'u');
select public.create_stake(100) ->> 'stake_id' as u1 \gset
select public.create_stake(50) ->> 'stake_id' as u2 \gset
select tests.authenticate_as(:'o');
select public.create_stake(200) ->> 'stake_id' as o1 \gset
select tests.clear_authentication();
update app.stakes set created_at = '2033-01-01 00:00+01' where id in (:'u1', :'u2', :'o1');
update app.ros_slots set status = 'CANCELLED' where status = 'PENDING';
update app.stakes set status = 'cancelled' where status = 'active' and id not in (:'u1', :'u2', :'o1');
select app.account_id(:'u', 'earnings') as u_wallet \gset

-- Two stakes, one wallet: the wallet gets both payouts (a per-stake update would credit one).
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2033-01-01', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2033-01-01T10:00:00+01:00"},{"slot_number":2,"ros_percentage":2,"scheduled_for":"2033-01-01T11:00:00+01:00"}]');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2033-01-01T11:00:00+01:00'), 2, 'both slots ran');
select tests.clear_authentication();
select is((select count(*) from app.ros_payouts where distribution_date = '2033-01-01'), 6::bigint, 'each slot paid each of the three stakes');
select is((select balance from app.accounts where id = :'u_wallet'), 4.50::numeric, 'a wallet shared by two stakes holds both payouts of both slots (1.00 + 0.50 + 2.00 + 1.00)');
select is((select users_processed from app.ros_slots where distribution_date = '2033-01-01' and slot_number = 2), 3, 'users_processed counts stakes');
select is((select total_distributed from app.ros_slots where distribution_date = '2033-01-01' and slot_number = 2), 7.00::numeric, 'total_distributed is the sum paid');
select is((select count(*) from app.ledger_entries e join app.ledger_transactions t on t.id = e.transaction_id
            where t.idempotency_key like 'ros:slot:' || (select id from app.ros_slots where distribution_date = '2033-01-01' and slot_number = 2) || ':%'),
          4::bigint, 'a slot run posts one entry per stake and one platform entry');

-- Compensation: a stake that was missed (it committed late) is paid by the anti-join path, once,
-- and its wallet (shared with the stakes paid earlier) gets exactly that payout.
select tests.authenticate_as(:'u');
select public.create_stake(10) ->> 'stake_id' as u3 \gset
select tests.clear_authentication();
update app.stakes set created_at = '2033-01-01 09:00+01' where id = :'u3';
select tests.authenticate_as(:'adm', 'aal2');
select is((public.admin_retry_slot('2033-01-01', 1) ->> 'paid_now')::int, 1, 'retry pays only the missed stake');
select is((public.admin_retry_slot('2033-01-01', 1) ->> 'paid_now')::int, 0, 'a second retry pays nothing');
select tests.clear_authentication();
select is((select balance from app.accounts where id = :'u_wallet'), 4.60::numeric, 'the shared wallet got the missed 0.10 once');
select is((select users_processed from app.ros_slots where distribution_date = '2033-01-01' and slot_number = 1), 4, 'the retry adds to users_processed');
select is((select count(*) from app.ledger_violations()), 0::bigint, 'the ledger balances after first runs and a compensation');
select is((select count(*) from app.stakes s where s.total_earned <> coalesce((select sum(p.amount) from app.ros_payouts p where p.stake_id = s.id), 0)), 0::bigint, 'total_earned equals the sum of payouts');

-- A slot whose every payout rounds to zero pays nobody and leaves no empty ledger transaction.
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution('2033-01-02', '[{"slot_number":1,"ros_percentage":0.0001,"scheduled_for":"2033-01-02T10:00:00+01:00"}]');
select tests.authenticate_as_service();
select is(public.execute_due_slots('2033-01-02T10:00:00+01:00'), 1, 'the 0.0001 % slot ran');
select tests.clear_authentication();
select is((select status || '/' || users_processed from app.ros_slots where distribution_date = '2033-01-02'), 'COMPLETED/0', 'it completed with nobody to pay');
select is((select count(*) from app.ledger_transactions
            where idempotency_key like 'ros:slot:' || (select id from app.ros_slots where distribution_date = '2033-01-02') || ':%'),
          0::bigint, 'its empty ledger transaction was removed');

-- Payouts read through stakes: the owner sees exactly theirs, nobody else does.
select tests.authenticate_as(:'u');
select is((select count(*) from public.my_transactions where type = 'Daily ROS Payout'), 5::bigint, 'u sees the five payouts of their three stakes');
select is((select sum(amount) from public.my_transactions where type = 'Daily ROS Payout'), 4.60::numeric, 'and their amounts');
select is(public.my_today_profit('2033-01-01'), 4.60::numeric, 'my_today_profit sums the day over every slot and stake');
select is(public.my_today_profit('2033-01-02'), 0::numeric, 'a day that paid nothing is 0');
select tests.authenticate_as(:'o');
select is((select count(*) from public.my_transactions where type = 'Daily ROS Payout'), 2::bigint, 'o sees only their two payouts');
select is((select count(*) from public.my_transactions where stake_id in (:'u1', :'u2', :'u3')), 0::bigint, 'o sees none of u''s stakes or payouts');
select is(public.my_today_profit('2033-01-01'), 6.00::numeric, 'o''s profit is their own');
select tests.clear_authentication();
select hasnt_index('app', 'ros_payouts', 'ros_payouts_user_date', 'payouts have no random-order user index');
select has_index('app', 'ledger_entries', 'ledger_entries_transaction', 'entries are found by transaction');

-- Reference checks, both plans. The plan follows the size of the insert against the table's size
-- as the planner knows it: ten more stakes and an analyze make one row a probe and a few rows a
-- bulk share (no write to pg_class, which only a superuser may do: this runs as hosted postgres).
select tests.authenticate_as(:'o');
select count(public.create_stake(1)) from generate_series(1, 10);
select tests.clear_authentication();
analyze app.stakes;
analyze app.accounts;
select is(app.bulk_check(1, 'app.stakes'), (select reltuples <= 8 from pg_class where oid = 'app.stakes'::regclass), 'bulk_check compares the rows with an eighth of the table');
select ok(not app.bulk_check(1, 'app.stakes'), 'one payout against the stakes: probes');
select ok(app.bulk_check(2, 'app.stakes'), 'two payouts are an eighth of the stakes: one hash join');
select throws_ok($$insert into app.ros_payouts (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
                   values (gen_random_uuid(), '$$ || :'u' || $$', '2033-02-01', 1, $$ || :'u_wallet' || $$, 1, 1)$$,
  '23503', 'a payout references a missing stake', 'probe plan: a payout for a missing stake is refused');
select ok(not app.bulk_check(1, 'app.accounts'), 'one entry against the accounts: probes');
select throws_ok($$insert into app.ledger_entries (transaction_id, account_id, amount)
                   values ((select max(id) from app.ledger_transactions), -42, 1)$$,
  '23503', null, 'probe plan: an entry for a missing account is refused');
select throws_ok($$insert into app.ros_payouts (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
                   select id, user_id, '2033-02-01', 1, earnings_account_id + 1, 1, 1 from app.stakes where id in ('$$ || :'u1' || $$', '$$ || :'o1' || $$')$$,
  '23503', 'a payout references a missing stake', 'hash plan: payouts naming the wrong wallet are refused');
select ok(app.bulk_check(10, 'app.accounts'), 'ten entries are an eighth of the accounts: one hash join');
select throws_ok($$insert into app.ledger_entries (transaction_id, account_id, amount)
                   select -7, $$ || :'u_wallet' || $$, 1 from generate_series(1, 10)$$,
  '23503', null, 'hash plan: entries for a missing transaction are refused');
-- A valid bulk insert passes, and the planner setting the check changed is put back.
insert into app.ros_payouts (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
select id, user_id, '2033-02-01', 1, earnings_account_id, 1, 1 from app.stakes where id in (:'u1', :'o1');
select is(current_setting('enable_nestloop'), 'on', 'enable_nestloop is restored after a hash-plan check');
select is((select count(*) from app.ros_payouts where distribution_date = '2033-02-01'), 2::bigint, 'the valid bulk insert went through');

select * from finish();
rollback;
