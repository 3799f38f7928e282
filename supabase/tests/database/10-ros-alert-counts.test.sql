-- ROS alerts within a budget (10_ros_alerts): a completed slot's count (missing, eligible) reads
-- every stake, so admin_ros_alerts counts live only within `ros_alerts_count_budget` and takes the
-- count kept by app.count_ros_slots (run by app.deliver_alerts) for the rest; a kept count of an
-- older version of the slot (a retry since) is stale and counted again first.
begin;
select plan(27);

select tests.create_user('admin@counts.io', true) as adm \gset
create temp table mine (n int, user_id uuid, stake_id uuid);
grant all on mine to public;
insert into mine select * from tests.create_stakers('counts', 4, 100, 0);
update app.ros_slots set status = 'CANCELLED' where status in ('PENDING', 'EXECUTING');
update app.stakes set status = 'cancelled' where status = 'active' and id not in (select stake_id from mine);
-- Completed slots of the last week other than ours are not this test's.
update app.ros_slots set status = 'CANCELLED' where status = 'COMPLETED'
   and distribution_date between app.business_today() - 7 and app.business_today();
select app.business_today() as today \gset

-- Today's slot 1, due a minute after midnight; stakes created before it.
select (:'today' || ' 00:00')::timestamp at time zone app.business_tz() as midnight \gset
update app.stakes set created_at = :'midnight'::timestamptz - interval '1 day' where id in (select stake_id from mine);
select tests.authenticate_as(:'adm', 'aal2');
select from public.admin_queue_distribution(:'today'::date, jsonb_build_array(jsonb_build_object(
  'slot_number', 1, 'ros_percentage', 1, 'scheduled_for', :'midnight'::timestamptz + interval '1 minute')));
select tests.clear_authentication();
select id as s1 from app.ros_slots where distribution_date = :'today'::date and slot_number = 1 \gset
select tests.authenticate_as_service();
select from public.execute_due_slots(:'midnight'::timestamptz + interval '1 minute');
select tests.clear_authentication();
select is((select status || ':' || users_processed from app.ros_slots where id = :'s1'), 'COMPLETED:4',
  'the slot paid our four stakes');

-- The rule, counted.
select is((select row(n.missing, n.eligible)::text from app.ros_slots s, app.count_slot_payouts(s) n where s.id = :'s1'),
  '(0,4)', 'count_slot_payouts: nothing missing, four eligible');
-- A stake that was there at scheduled_for but committed after the slot ran: owed and unpaid.
do $$
declare
  v_user uuid := tests.create_user('late@counts.io');
begin
  perform tests.authenticate_as_service();
  perform public.credit_funded_wallet(v_user, 1000, 'counts-late');
  perform tests.authenticate_as(v_user);
  insert into mine values (5, v_user, (public.create_stake(100) ->> 'stake_id')::uuid);
  perform tests.clear_authentication();
end $$;
update app.stakes set created_at = :'midnight'::timestamptz where id = (select stake_id from mine where n = 5);
select is((select row(n.missing, n.eligible)::text from app.ros_slots s, app.count_slot_payouts(s) n where s.id = :'s1'),
  '(1,5)', 'a late stake is missing and eligible');
-- A stake whose payout at 1 % rounds down to zero (0.50 × 1 % < 1 kobo... floor(0.5) = 0) is owed nothing.
do $$
begin
  perform tests.authenticate_as((select user_id from mine where n = 5));
  insert into mine values (6, (select user_id from mine where n = 5), (public.create_stake(0.5) ->> 'stake_id')::uuid);
  perform tests.clear_authentication();
end $$;
update app.stakes set created_at = :'midnight'::timestamptz where id = (select stake_id from mine where n = 6);
select is((select row(n.missing, n.eligible)::text from app.ros_slots s, app.count_slot_payouts(s) n where s.id = :'s1'),
  '(1,5)', 'a stake whose payout rounds to zero is neither missing nor eligible');

-- Within the alerts' budget: counted live, as before.
select tests.authenticate_as(:'adm', 'aal2');
create temp table seen as select x from jsonb_array_elements(public.admin_ros_alerts()) x;
grant all on seen to public;
select is((select x #>> '{detail,missing}' from seen
            where x ->> 'kind' = 'missing_payouts' and (x ->> 'slot_number')::int = 1
              and (x ->> 'distribution_date')::date = :'today'::date), '1',
  'admin_ros_alerts counts the missing stake live');
select ok((select (x #>> '{detail,counted_at}')::timestamptz <= clock_timestamp() from seen
            where x ->> 'kind' = 'missing_payouts' and (x ->> 'slot_number')::int = 1
              and (x ->> 'distribution_date')::date = :'today'::date), 'with when it was counted');
select tests.clear_authentication();
select is((select count(*) from app.ros_slot_counts where slot_id = :'s1'), 0::bigint,
  'a read keeps no count');

-- No budget left for live counts: nothing kept yet, so no count to report.
update app.settings set value = '0 seconds' where key = 'ros_alerts_count_budget';
select tests.authenticate_as(:'adm', 'aal2');
select is((select count(*) from jsonb_array_elements(public.admin_ros_alerts()) x
            where x ->> 'kind' = 'missing_payouts' and (x ->> 'distribution_date')::date = :'today'::date),
  0::bigint, 'beyond the budget and never counted: not reported yet');
select tests.clear_authentication();

-- The counting job keeps the count; the alerts read it.
update app.settings set value = '0 seconds' where key = 'ros_count_budget';
select is(app.count_ros_slots(), 0, 'count_ros_slots with no budget counts nothing');
update app.settings set value = '30 seconds' where key = 'ros_count_budget';
select ok(app.count_ros_slots() >= 1, 'count_ros_slots counts the completed slots of the week');
select is((select row(runs, users_processed, missing, eligible)::text from app.ros_slot_counts where slot_id = :'s1'),
  '(1,4,1,5)', 'it keeps the count with the version of the slot it counted');
select counted_at as kept_at from app.ros_slot_counts where slot_id = :'s1' \gset
select tests.authenticate_as(:'adm', 'aal2');
select is((select x #>> '{detail,missing}' from jsonb_array_elements(public.admin_ros_alerts()) x
            where x ->> 'kind' = 'missing_payouts' and (x ->> 'distribution_date')::date = :'today'::date),
  '1', 'beyond the budget, the kept count is reported');
select is((select (x #>> '{detail,counted_at}')::timestamptz from jsonb_array_elements(public.admin_ros_alerts()) x
            where x ->> 'kind' = 'missing_payouts' and (x ->> 'distribution_date')::date = :'today'::date),
  :'kept_at'::timestamptz, 'with the time it was counted');
select is((select x #>> '{detail,missing}' from jsonb_array_elements(public.admin_ros_alerts(:'today'::date)) x
            where x ->> 'kind' = 'missing_payouts'), '1', 'for one day too');

-- A retry pays the late stake: the kept count is stale and counted first.
select is(public.admin_retry_slot(:'today'::date, 1) ->> 'paid_now', '1', 'the retry pays the late stake');
select tests.clear_authentication();
select is((select s.id from app.slots_to_count(:'today'::date - 7, :'today'::date) s limit 1),
  :'s1'::bigint, 'a stale count comes first in the counting order');
select tests.authenticate_as(:'adm', 'aal2');
select is((select x #>> '{detail,missing}' from jsonb_array_elements(public.admin_ros_alerts()) x
            where x ->> 'kind' = 'missing_payouts' and (x ->> 'distribution_date')::date = :'today'::date),
  '1', 'beyond the budget, a stale count is still reported (with its time) rather than dropped');
select tests.clear_authentication();
update app.settings set value = '2 seconds' where key = 'ros_alerts_count_budget';
select tests.authenticate_as(:'adm', 'aal2');
select is((select count(*) from jsonb_array_elements(public.admin_ros_alerts()) x
            where x ->> 'kind' in ('missing_payouts', 'partial_completion')
              and (x ->> 'distribution_date')::date = :'today'::date), 0::bigint,
  'within the budget it is counted again: nothing missing');
select tests.clear_authentication();

-- deliver_alerts counts before it refreshes: the kept count is current after a run.
select from app.deliver_alerts();
select is((select row(runs, users_processed, missing, eligible)::text from app.ros_slot_counts where slot_id = :'s1'),
  '(2,5,0,5)', 'deliver_alerts keeps the new count');
select is((select count(*) from app.alerts where kind = 'missing_payouts' and resolved_at is null
             and subject like '%' || :'today' || '%'), 0::bigint, 'and no missing_payouts alert is open');

-- Budgets stay inside the statement timeout in force.
set local statement_timeout = '4s';
select is(app.budget_within_timeout('2 seconds', 0.25), interval '1 second', 'a quarter of 4 s is 1 s');
select is(app.ros_call_budget(), interval '2 seconds', 'the executor: half of 4 s');
set local statement_timeout = '8s';
select is(app.budget_within_timeout('2 seconds', 0.25), interval '2 seconds', 'under 8 s the 2 s setting holds');
set local statement_timeout = 0;
select is(app.budget_within_timeout('2 seconds', 0.25), interval '2 seconds', 'no timeout: the setting');

-- Who may do what.
select ok(not has_function_privilege('authenticated', 'app.count_ros_slots()', 'execute')
          and not has_function_privilege('anon', 'app.count_ros_slots()', 'execute'),
  'count_ros_slots is not callable by API roles');
select ok((select relrowsecurity from pg_class where oid = 'app.ros_slot_counts'::regclass), 'ros_slot_counts has RLS');
select ok(not has_table_privilege('authenticated', 'app.ros_slot_counts', 'select'), 'and no grant to investors');

select * from finish();
rollback;
