-- ROS admin RPCs: happy paths, every error code, every role.
begin;
select plan(66);

select tests.create_user('u1@test.io') as u1 \gset
select tests.create_user('u2@test.io') as u2 \gset
select tests.create_user('admin@test.io', true) as adm \gset

\set slots12 '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2031-03-01T12:56:00+01:00"},{"slot_number":2,"ros_percentage":0.5,"scheduled_for":"2031-03-01T12:58:59"}]'

-- admin_queue_distribution: roles ------------------------------------------------------------------
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_queue_distribution('2031-03-01', '$$ || :'slots12' || $$')$$, '42501', null, 'queue: anon is 42501');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.admin_queue_distribution('2031-03-01', '$$ || :'slots12' || $$')$$, '42501', null, 'queue: a user is 42501');
select tests.authenticate_as(:'adm', 'aal1');
select throws_ok($$select public.admin_queue_distribution('2031-03-01', '$$ || :'slots12' || $$')$$, '42501', 'multi-factor authentication (aal2) required for this action', 'queue: admin without MFA is 42501');

-- admin aal2 creates.
select tests.authenticate_as(:'adm', 'aal2');
select public.admin_queue_distribution('2031-03-01', :'slots12', p_premium_pool => 10.5, p_description => 'first') as q \gset
select is((:'q'::jsonb) ->> 'created', 'true', 'queue creates the declaration');
select is((:'q'::jsonb) ->> 'status', 'PENDING', 'a new declaration is PENDING');
select is((:'q'::jsonb) ->> 'premium_pool', '10.50', 'money is a decimal string');
select is((:'q'::jsonb) ->> 'performance_pool', '0.00', 'performance_pool defaults to 0');
select is(((:'q'::jsonb) ->> 'multi_slot_enabled')::boolean, true, 'multi_slot_enabled defaults to true');
select is(((:'q'::jsonb) ->> 'total_ros_percentage')::numeric, 1.5, 'total_ros_percentage sums the slots');
select is(jsonb_array_length((:'q'::jsonb) -> 'slots'), 2, 'two slots');
select is((:'q'::jsonb) #>> '{slots,1,scheduled_for}', '2031-03-01T11:58:59+00:00', 'a time without offset is read in Africa/Lagos');
select ok(((:'q'::jsonb) -> 'slots' -> 0) ?& array['slot_number','ros_percentage','scheduled_for','status','started_at','executed_at','users_processed','total_distributed','error_count','error_message'], 'slot JSON has every contract key');
select ok((:'q'::jsonb) ?& array['distribution_date','status','multi_slot_enabled','premium_pool','performance_pool','description','total_ros_percentage','total_distributed','slots'], 'declaration JSON has every contract key');

-- merge: null keeps, PENDING slot updated, new slot added.
select public.admin_queue_distribution('2031-03-01', '[{"slot_number":2,"ros_percentage":0.75,"scheduled_for":"2031-03-01T13:00:00+01:00"},{"slot_number":3,"ros_percentage":1,"scheduled_for":"2031-03-01T14:00:00+01:00"}]') as m \gset
select is((:'m'::jsonb) ->> 'created', 'false', 'queue again merges');
select is((:'m'::jsonb) ->> 'description', 'first', 'a null argument keeps the description');
select is((:'m'::jsonb) ->> 'premium_pool', '10.50', 'a null argument keeps the pool');
select is(((:'m'::jsonb) #>> '{slots,1,ros_percentage}')::numeric, 0.75, 'the PENDING slot took the new percentage');
select is(jsonb_array_length((:'m'::jsonb) -> 'slots'), 3, 'the new slot was added');

-- validation: PT400.
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[]')$$, 'PT400', null, 'empty slots: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '{"slot_number":1}')$$, 'PT400', null, 'not an array: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":0,"ros_percentage":1,"scheduled_for":"2031-03-02T12:00:00+01:00"}]')$$, 'PT400', null, 'slot 0: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":101,"ros_percentage":1,"scheduled_for":"2031-03-02T12:00:00+01:00"}]')$$, 'PT400', null, 'slot 101: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":1,"ros_percentage":0,"scheduled_for":"2031-03-02T12:00:00+01:00"}]')$$, 'PT400', null, 'ros_percentage 0: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":1,"ros_percentage":100.5,"scheduled_for":"2031-03-02T12:00:00+01:00"}]')$$, 'PT400', null, 'ros_percentage over 100: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":1,"ros_percentage":1.00001,"scheduled_for":"2031-03-02T12:00:00+01:00"}]')$$, 'PT400', null, 'more than 4 decimals: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2031-03-02T23:30:00+00:00"}]')$$, 'PT400', null, 'a time on the next day in Lagos: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"soon"}]')$$, 'PT400', null, 'a malformed time: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2031-03-02T12:00:00+01:00"},{"slot_number":1,"ros_percentage":1,"scheduled_for":"2031-03-02T13:00:00+01:00"}]')$$, 'PT400', null, 'a slot number twice: PT400');
select throws_ok($$select public.admin_queue_distribution('2031-03-02', '$$ || replace(:'slots12', '2031-03-01', '2031-03-02') || $$', p_multi_slot_enabled => false)$$, 'PT400', null, 'two slots with multi_slot_enabled = false: PT400');
select is(public.admin_queue_distribution('2031-03-02', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2031-03-02T12:00:00+01:00"}]', p_multi_slot_enabled => false) ->> 'multi_slot_enabled', 'false', 'one slot with multi_slot_enabled = false is fine');
select throws_ok($$select public.admin_add_slots('2031-03-02', '[{"slot_number":2,"ros_percentage":1,"scheduled_for":"2031-03-02T13:00:00+01:00"}]')$$, 'PT400', null, 'adding a second slot to a single-slot day: PT400');

-- admin_add_slots ---------------------------------------------------------------------------------
select is(jsonb_array_length(public.admin_add_slots('2031-03-01', '[{"slot_number":4,"ros_percentage":1,"scheduled_for":"2031-03-01T15:00:00+01:00"}]') -> 'slots'), 4, 'add_slots adds');
select throws_ok($$select public.admin_add_slots('2031-03-01', '[{"slot_number":4,"ros_percentage":1,"scheduled_for":"2031-03-01T15:00:00+01:00"}]')$$, 'PT400', null, 'add_slots: an existing slot number is PT400');
select throws_ok($$select public.admin_add_slots('2031-04-01', '[{"slot_number":1,"ros_percentage":1,"scheduled_for":"2031-04-01T15:00:00+01:00"}]')$$, 'PT404', null, 'add_slots: no declaration is PT404');
select tests.authenticate_as(:'adm', 'aal1');
select throws_ok($$select public.admin_add_slots('2031-03-01', '[{"slot_number":5,"ros_percentage":1,"scheduled_for":"2031-03-01T15:00:00+01:00"}]')$$, '42501', null, 'add_slots: admin aal1 is 42501');
select tests.authenticate_as(:'u2');
select throws_ok($$select public.admin_add_slots('2031-03-01', '[{"slot_number":5,"ros_percentage":1,"scheduled_for":"2031-03-01T15:00:00+01:00"}]')$$, '42501', null, 'add_slots: a user is 42501');
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_add_slots('2031-03-01', '[{"slot_number":5,"ros_percentage":1,"scheduled_for":"2031-03-01T15:00:00+01:00"}]')$$, '42501', null, 'add_slots: anon is 42501');

-- admin_update_slot -------------------------------------------------------------------------------
select tests.authenticate_as(:'adm', 'aal2');
select is((public.admin_update_slot('2031-03-01', 4, p_ros_percentage => 2)) ->> 'ros_percentage', '2.0000', 'update_slot changes a PENDING slot');
select throws_ok($$select public.admin_update_slot('2031-03-01', 4, p_scheduled_for => '2031-03-05T10:00:00+01:00')$$, 'PT400', null, 'update_slot to another day is PT400');
select throws_ok($$select public.admin_update_slot('2031-03-01', 9, 1)$$, 'PT404', null, 'update_slot: no such slot is PT404');
select throws_ok($$select public.admin_update_slot('2031-05-01', 1, 1)$$, 'PT404', null, 'update_slot: no declaration is PT404');
select tests.authenticate_as(:'adm', 'aal1');
select throws_ok($$select public.admin_update_slot('2031-03-01', 4, 1)$$, '42501', null, 'update_slot: admin aal1 is 42501');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.admin_update_slot('2031-03-01', 4, 1)$$, '42501', null, 'update_slot: a user is 42501');

-- admin_cancel_slot -------------------------------------------------------------------------------
select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_cancel_slot('2031-03-01', 4) ->> 'status', 'CANCELLED', 'cancel_slot cancels a PENDING slot');
select throws_ok($$select public.admin_cancel_slot('2031-03-01', 4)$$, 'PT409', null, 'cancel_slot on a CANCELLED slot is PT409');
select throws_ok($$select public.admin_update_slot('2031-03-01', 4, 1)$$, 'PT409', null, 'update_slot on a CANCELLED slot is PT409');
select throws_ok($$select public.admin_update_slot('2031-03-01', 4, 1)$$, 'PT409', 'slot 4 is CANCELLED: only PENDING slots can change',
  'the refusal names the slot and its status (app.locked_pending_slot)');
select throws_ok($$select public.admin_cancel_slot('2031-03-01', 4)$$, 'PT409', 'slot 4 is CANCELLED: only PENDING slots can be cancelled',
  'and what only a PENDING slot can do');
select throws_ok($$select public.admin_cancel_slot('2031-03-01', 42)$$, 'PT404', null, 'cancel_slot: no such slot is PT404');
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_cancel_slot('2031-03-01', 3)$$, '42501', null, 'cancel_slot: anon is 42501');

-- admin_retry_slot: only FAILED or COMPLETED (execution tests cover the paying paths) -------------
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.admin_retry_slot('2031-03-01', 1)$$, 'PT409', null, 'retry of a PENDING slot is PT409');
select throws_ok($$select public.admin_retry_slot('2031-03-01', 4)$$, 'PT409', null, 'retry of a CANCELLED slot is PT409');
select throws_ok($$select public.admin_retry_slot('2031-03-01', 77)$$, 'PT404', null, 'retry of a missing slot is PT404');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.admin_retry_slot('2031-03-01', 1)$$, '42501', null, 'retry: a user is 42501');

-- reads: admin with or without MFA, service; never users.
select tests.authenticate_as(:'adm', 'aal1');
select is(public.admin_distribution_status('2031-03-01') ->> 'distribution_date', '2031-03-01', 'status: admin aal1 may read');
select throws_ok($$select public.admin_distribution_status('2031-06-01')$$, 'PT404', null, 'status of an undeclared day is PT404');
select is(jsonb_array_length(public.admin_distribution_history('2031-03-01', '2031-03-31')), 2, 'history lists the declarations in range');
select throws_ok($$select public.admin_distribution_history('2031-03-31', '2031-03-01')$$, 'PT400', null, 'history with from > to is PT400');
select is(jsonb_typeof(public.admin_ros_alerts('2031-03-01')), 'array', 'alerts: admin may read');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.admin_distribution_status('2031-03-01')$$, '42501', null, 'status: a user is 42501');
select throws_ok($$select public.admin_distribution_history('2031-03-01', '2031-03-31')$$, '42501', null, 'history: a user is 42501');
select throws_ok($$select public.admin_ros_alerts()$$, '42501', null, 'alerts: a user is 42501');
select tests.authenticate_as_service();
select is(public.admin_distribution_status('2031-03-01') ->> 'status', 'PENDING', 'status: service may read');
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_distribution_status('2031-03-01')$$, '42501', null, 'status: anon is 42501');

-- Every mutation is audited with before and after.
select tests.clear_authentication();
select ok((select count(*) from app.admin_audit where action in ('queue_distribution','add_slots','update_slot','cancel_slot')) >= 6, 'admin mutations are audited');
select ok((select bool_and(after is not null) from app.admin_audit), 'audit rows carry the state after');

select * from finish();
rollback;
