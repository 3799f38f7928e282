-- Operator alerts: each kind's identity (the same condition seen twice is one alert, gone it is
-- resolved, back it is new), channels (validation, Vault, secrets never readable), what the job
-- queues (signed webhook, slack text), the log, acknowledgement and the resend action's errors.
-- (The role matrix of these RPCs is in 90-role-matrix; delivery end to end in tests/operator-alerts.)
begin;
select plan(43);

select tests.create_user('alerts-admin@test.io', true) as adm \gset
select tests.create_user('alerts-user@test.io') as u \gset

-- Subjects ---------------------------------------------------------------------------------------
select is(app.alert_subject('{"kind": "slot_failed", "distribution_date": "2026-11-21", "slot_number": 3, "detail": {"error_count": 1}}'),
  'distribution_date=2026-11-21,slot_number=3', 'a slot alert is about its date and slot');
select is(app.alert_subject('{"kind": "reorg_detected", "run_id": 9, "user_id": "u", "tokenization_id": "t", "detail": {"transfer_id": "x"}}'),
  'transfer_id=x,tokenization_id=t,user_id=u', 'a reorg is about its transfer (never its run)');
select is(app.alert_subject('{"kind": "waiting_on_kyc", "user_id": "u", "investments": 3}'), 'user_id=u',
  'a count is not part of the identity');
select is(app.alert_subject('{"kind": "webhook_silent", "pending": 4}'), 'project', 'a project-wide alert');

-- Identity through refresh -----------------------------------------------------------------------
update app.alerts set resolved_at = now() where resolved_at is null;
insert into app.ros_declarations (distribution_date) values (current_date - 6)
  on conflict (distribution_date) do update set updated_at = now() returning id as decl \gset
insert into app.ros_slots (declaration_id, distribution_date, slot_number, ros_percentage, scheduled_for, status, error_message)
select :decl, current_date - 6, coalesce(max(slot_number), 0) + 1, 1, now() - interval '6 days', 'FAILED', 'boom'
  from app.ros_slots where distribution_date = current_date - 6
returning slot_number as sn \gset
select app.refresh_alerts();
select app.refresh_alerts();
select is((select count(*)::int from app.alerts where kind = 'slot_failed'
            and subject = format('distribution_date=%s,slot_number=%s', current_date - 6, :sn)), 1,
  'the same failed slot seen twice is one alert');
select ok((select last_seen >= first_seen from app.alerts where kind = 'slot_failed'
            and subject = format('distribution_date=%s,slot_number=%s', current_date - 6, :sn)), 'last_seen moves on');
update app.ros_slots set status = 'CANCELLED' where distribution_date = current_date - 6 and slot_number = :sn;
select app.refresh_alerts();
select ok((select resolved_at is not null from app.alerts where kind = 'slot_failed'
            and subject = format('distribution_date=%s,slot_number=%s', current_date - 6, :sn)), 'gone: resolved');
update app.ros_slots set status = 'FAILED' where distribution_date = current_date - 6 and slot_number = :sn;
select app.refresh_alerts();
select is((select count(*)::int from app.alerts where kind = 'slot_failed'
            and subject = format('distribution_date=%s,slot_number=%s', current_date - 6, :sn)), 2,
  'back again: a new alert');
select is((select count(*)::int from app.alerts where kind = 'cron_job_failing' and resolved_at is null
            and subject = 'job=deliver-alerts'), (select case when active then 0 else 1 end from cron.job where jobname = 'deliver-alerts'),
  'a switched-off cron job is cron_job_failing');
update app.ros_slots set status = 'EXECUTING', updated_at = now() - interval '11 minutes'
 where distribution_date = current_date - 6 and slot_number = :sn;
select app.refresh_alerts();
select is((select count(*)::int from app.alerts where kind = 'slot_stalled' and resolved_at is null
            and subject = format('distribution_date=%s,slot_number=%s', current_date - 6, :sn)), 1,
  'a slot EXECUTING without progress for 10 minutes is slot_stalled');
update app.ros_slots set status = 'CANCELLED' where distribution_date = current_date - 6 and slot_number = :sn;
select app.refresh_alerts();
select is((select count(*)::int from app.alerts where kind = 'slot_stalled' and resolved_at is null
            and subject = format('distribution_date=%s,slot_number=%s', current_date - 6, :sn)), 0,
  'no longer executing: cleared');
-- No reconciliation run for 15 minutes while transfers exist: reconciliation_stale, until one runs.
update app.reconciliation_runs set started_at = started_at - interval '1 day';
insert into app.reconciliation_runs (started_at, summary) values (now() - interval '1 hour', '{}');
select app.refresh_alerts();
select ok(not exists (select 1 from app.token_transfers where created_at < now() - interval '15 minutes')
          or exists (select 1 from app.alerts where kind = 'reconciliation_stale' and resolved_at is null),
  'no reconciliation run for 15 minutes: reconciliation_stale');
insert into app.reconciliation_runs (summary) values ('{}');
select app.refresh_alerts();
select ok(not exists (select 1 from app.alerts where kind = 'reconciliation_stale' and resolved_at is null),
  'a run recorded: cleared');

-- Channels -----------------------------------------------------------------------------------------
-- The table holds the same rules as admin_set_alert_channel, whoever writes it.
select throws_ok($$insert into app.alert_channels (name, kind, url_secret_id) values ('Bad Name', 'slack', gen_random_uuid())$$,
  '23514', null, 'the table refuses a bad channel name (app.is_channel_name)');
select throws_ok($$insert into app.alert_channels (name, kind, url_secret_id) values ('ops', 'email', gen_random_uuid())$$,
  '23514', null, 'the table refuses an unknown kind (app.alert_channel_kinds)');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.admin_set_alert_channel('Bad Name', 'slack', 'https://hooks.example/x')$$, 'PT400', null, 'a bad name is PT400');
select throws_ok($$select public.admin_set_alert_channel('ops', 'email', 'https://hooks.example/x')$$, 'PT400', null, 'an unknown kind is PT400');
select throws_ok($$select public.admin_set_alert_channel('ops', 'slack', 'ftp://x')$$, 'PT400', null, 'a URL that is not http(s) is PT400');
select throws_ok($$select public.admin_set_alert_channel('ops', 'webhook', 'https://hooks.example/x')$$, 'PT400', null, 'a webhook without a secret is PT400');
select throws_ok($$select public.admin_set_alert_channel('ops', 'slack', 'https://hooks.example/x', 'a-secret-of-enough-length')$$, 'PT400', null, 'a slack channel with a secret is PT400');
select throws_ok($$select public.admin_set_alert_channel('ops', 'webhook', 'https://hooks.example/x', 'short')$$, 'PT400', null, 'a short secret is PT400');
select is(public.admin_set_alert_channel('ops-slack', 'slack', 'https://hooks.example/services/T/B/XYZ') ->> 'url_host', 'hooks.example', 'a slack channel');
select is(public.admin_set_alert_channel('ops-hook', 'webhook', 'https://receiver.example/alerts', 'secret-secret-secret-1') ->> 'signed', 'true', 'a webhook channel, signed');
select is(public.admin_set_alert_channel('ops-hook', 'webhook', 'https://receiver.example/v2') ->> 'signed', 'true', 'an update without p_secret keeps the secret');
select ok(public.admin_alert_channels()::text !~ 'secret-secret-secret-1|/services/T/B/XYZ|/v2', 'the channel list shows neither secret nor URL path');
select tests.clear_authentication();
select is((select count(*)::int from vault.decrypted_secrets where decrypted_secret = 'secret-secret-secret-1'), 1, 'the secret is in Vault');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select * from vault.decrypted_secrets$$, '42501', null, 'no API role reads Vault');
select throws_ok($$select * from app.alert_channels$$, '42501', null, 'nor the channels table');
select tests.clear_authentication();

-- What the job queues --------------------------------------------------------------------------------
select app.deliver_alerts() is not null as ran \gset
select ok(exists (select 1 from net.http_request_queue q where q.url = 'https://receiver.example/v2'
                   and q.headers ->> 'x-payout-signature' = encode(extensions.hmac(convert_to(q.body::text, 'UTF8'),
                                                             convert_to('secret-secret-secret-1', 'UTF8'), 'sha256'), 'hex')
                   and q.body ? 'alert' and q.body ->> 'state' = 'open'),
  'a webhook message is signed over the body pg_net sends');
select ok(exists (select 1 from net.http_request_queue q where q.url = 'https://hooks.example/services/T/B/XYZ'
                   and (select array_agg(k) from jsonb_object_keys(q.body) k) = array['text']),
  'a slack message is {"text": ...}');
select is((select count(*)::int from app.alert_deliveries d join app.alerts a on a.id = d.alert_id
            where d.channel = 'ops-hook' and a.resolved_at is null and d.state = 'open'),
          (select count(*)::int from app.alerts where resolved_at is null), 'one open message per open alert');
select app.deliver_alerts() is not null as again \gset
select is((select count(*)::int from app.alert_deliveries where channel = 'ops-hook' and state = 'open'),
          (select count(*)::int from app.alerts a where exists (select 1 from app.alert_deliveries d where d.alert_id = a.id and d.channel = 'ops-hook')),
  'a run before pg_net answered sends nothing again');

-- Log and acknowledgement ----------------------------------------------------------------------------
select id as open_alert from app.alerts where resolved_at is null order by id limit 1 \gset
select tests.authenticate_as(:'adm', 'aal1');
select throws_ok($$select public.admin_alert_log(0)$$, 'PT400', null, 'p_limit 0 is PT400');
select ok(jsonb_array_length(public.admin_alert_log(1000)) >= 1, 'the log lists the alerts');
select ok((public.admin_alert_log(1) -> 0) ?& array['id', 'kind', 'subject', 'first_seen', 'last_seen', 'resolved_at', 'notified_at', 'acknowledged_by'],
  'with the contract''s keys');
select throws_ok(format($$select public.admin_acknowledge_alert(%s)$$, :open_alert), '42501', null, 'acknowledging needs MFA');
select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_acknowledge_alert(:open_alert, 'on it') ->> 'acknowledged', 'true', 'an admin acknowledges');
select throws_ok(format($$select public.admin_acknowledge_alert(%s)$$, :open_alert), 'PT409', null, 'twice is PT409');
select throws_ok($$select public.admin_acknowledge_alert(-1)$$, 'PT404', null, 'an unknown alert is PT404');
select is((public.admin_alert_log(1000) -> 0 ->> 'state') is not null, true, 'each entry has a state');
select throws_ok($$select public.admin_resend_transfer(gen_random_uuid())$$, 'PT404', null, 'resend: an unknown transfer is PT404');
select tests.clear_authentication();
select is((select acknowledged_by from app.alerts where id = :open_alert), :'adm'::uuid, 'who acknowledged it');
select is((select count(*)::int from app.admin_audit where action = 'acknowledge_alert' and (target ->> 'alert_id')::bigint = :open_alert), 1,
  'the acknowledgement is audited');

select * from finish();
rollback;
