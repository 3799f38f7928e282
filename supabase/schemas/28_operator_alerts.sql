-- Operator alerts, pushed: every alert of admin_token_alerts and admin_ros_alerts, and the
-- silences no list shows (a stalled distribution, a stale reconciler, a failing cron job, a stalled
-- slot), recorded once per identity and sent to the configured channels through pg_net.
--
-- Guarantees:
-- - An alert is identified by (kind, subject); its subject is the ids it is about (date and slot,
--   investment, transfer, event, tokenization, user, chain, signer, job), never a changing count.
--   The same condition seen again is the same alert; once it clears it is resolved, and if it
--   comes back it is a new alert.
-- - Each enabled channel gets, per alert: the alert once (state open), a reminder every
--   alert_reminder_after while it stays open and unacknowledged, and its resolution once. A
--   delivery is recorded with its pg_net request; a failed one (net._http_response not 2xx, or no
--   answer within 5 minutes) is sent again by the next run, a delivered one never.
-- - Runs are serialised by a transaction-level advisory lock: two runs at once send nothing twice.
-- - URLs and secrets live in Vault; no RPC or view returns a secret.
insert into app.settings (key, value) values
  ('alert_reminder_after', '4 hours'),
  ('distribution_stall_after', '15 minutes'),
  ('reconciliation_stale_after', '15 minutes'),
  ('slot_stall_after', '10 minutes')
on conflict (key) do nothing;

-- An alert channel's name and kinds, written once: the table's checks and set_alert_channel's
-- PT400 read them. See README, "Changing the database", before changing either.
create or replace function app.is_channel_name(p_name text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'
$$;

create or replace function app.alert_channel_kinds()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['slack', 'webhook']
$$;

create table app.alert_channels (
  name text primary key check (app.is_channel_name(name)),
  kind text not null check (kind = any (app.alert_channel_kinds())),
  url_secret_id uuid not null,
  signing_secret_id uuid,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (kind <> 'webhook' or signing_secret_id is not null)
);
alter table app.alert_channels enable row level security;

create table app.alerts (
  id bigint generated always as identity primary key,
  kind text not null,
  subject text not null,
  detail jsonb not null,
  first_seen timestamptz not null default now(),
  last_seen timestamptz not null default now(),
  resolved_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by uuid,
  acknowledge_note text
);
-- One open alert per identity.
create unique index alerts_open_identity on app.alerts (kind, subject) where resolved_at is null;
create index alerts_first_seen on app.alerts (first_seen);
alter table app.alerts enable row level security;

create table app.alert_deliveries (
  id bigint generated always as identity primary key,
  alert_id bigint not null references app.alerts (id),
  channel text not null references app.alert_channels (name),
  state text not null check (state in ('open', 'reminder', 'resolved')),
  sent_at timestamptz not null default now(),
  net_request_id bigint,
  status_code int,
  -- null while pg_net has not answered; then whether the receiver answered 2xx.
  delivered boolean
);
create index alert_deliveries_alert on app.alert_deliveries (alert_id, channel);
create index alert_deliveries_channel on app.alert_deliveries (channel);
create index alert_deliveries_unsettled on app.alert_deliveries (net_request_id) where delivered is null;
alter table app.alert_deliveries enable row level security;

-- What an alert is about: its identifying ids, in a fixed order ("slot_number=3,distribution_date=…"
-- style), or "project" for one about the whole project.
create or replace function app.alert_subject(p_alert jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(string_agg(k || '=' || v, ',' order by o), 'project')
    from (values (1, 'distribution_date'), (2, 'slot_number'), (3, 'investment_id'),
                 (4, 'transfer_id'), (5, 'event_id'), (6, 'tokenization_id'), (7, 'user_id'),
                 (8, 'chain_id'), (9, 'signer'), (10, 'job')) keys (o, k)
   cross join lateral (select coalesce(p_alert ->> k, p_alert -> 'detail' ->> k) as v) x
   where v is not null
$$;

-- The silences: what no list shows because nothing happens.
create or replace function app.silence_alerts()
returns setof jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_stall interval := app.setting('distribution_stall_after')::interval;
  v_stale interval := app.setting('reconciliation_stale_after')::interval;
  v_slot interval := app.setting('slot_stall_after')::interval;
  v_last_claim timestamptz := (select t.created_at from app.token_transfers t
                                order by t.created_at desc limit 1);
  v_last_run timestamptz := (select r.started_at from app.reconciliation_runs r order by r.id desc limit 1);
begin
  return query
    -- Claimable investments waiting longer than distribution_stall_after, and no run has claimed
    -- anything since the oldest of them was confirmed.
    select jsonb_build_object('kind', 'distribution_stalled', 'waiting', count(*),
             'since', min(coalesce(i.confirmed_at, i.created_at)), 'last_claim_at', v_last_claim,
             'hint', 'no distribute-tokens run has claimed anything: check the distribute-tokens-sweep '
                     || 'cron job, the function''s logs and its settings')
      from app.claimable_investments i
      join app.tokenizations t on t.id = i.tokenization_id
     where t.unreadable_since is null
       and coalesce(i.confirmed_at, i.created_at) < now() - v_stall
    having count(*) > 0
       and coalesce(v_last_claim, '-infinity') < min(coalesce(i.confirmed_at, i.created_at))
    union all
    -- No reconciliation run recorded for reconciliation_stale_after while transfers exist.
    select jsonb_build_object('kind', 'reconciliation_stale', 'last_run_at', v_last_run,
             'since', coalesce(v_last_run, min(t.created_at)),
             'hint', 'check the reconcile-token-distributions cron job and the function''s logs')
      from app.token_transfers t
     where coalesce(v_last_run, '-infinity') < now() - v_stale
       and t.created_at < now() - v_stale
    having count(*) > 0
    union all
    -- A project cron job that is switched off, whose last two runs failed, or (every-minute
    -- jobs) that has not run for 5 minutes.
    select jsonb_build_object('kind', 'cron_job_failing', 'job', j.jobname,
             'reason', case when not j.active then 'inactive'
                            when r.failed >= 2 then 'failed'
                            else 'not running' end,
             'last_error', r.last_error, 'last_run_at', r.last_start,
             'since', coalesce(r.first_failure, r.last_start),
             'hint', 'see cron.job_run_details for job ' || j.jobname
                     || case when not j.active then '; re-activate it with cron.alter_job' else '' end)
      from cron.job j
      cross join lateral (
        select count(*) filter (where d.status = 'failed') as failed,
               max(d.start_time) as last_start,
               min(d.start_time) filter (where d.status = 'failed') as first_failure,
               (array_agg(d.return_message order by d.start_time desc))[1] as last_error
          from (select d.status, d.start_time, d.return_message from cron.job_run_details d
                 where d.jobid = j.jobid order by d.start_time desc limit 2) d
      ) r
     where j.database = pg_catalog.current_database()
       and (not j.active or r.failed >= 2
            or (j.schedule = '* * * * *' and r.last_start < now() - interval '5 minutes'))
    union all
    -- A slot EXECUTING with no progress for slot_stall_after.
    select jsonb_build_object('kind', 'slot_stalled', 'distribution_date', d.distribution_date,
             'slot_number', s.slot_number, 'since', s.updated_at,
             'users_processed', s.users_processed,
             'hint', 'check execute_due_slots (cron job ros-execute-due-slots); a crashed part is '
                     || 'taken up by the next call')
      from app.ros_slots s join app.ros_declarations d on d.id = s.declaration_id
     where s.status = 'EXECUTING' and s.updated_at < now() - v_slot;
end
$$;

-- Every alert that holds now, with its identity.
create or replace function app.current_alerts()
returns table (kind text, subject text, detail jsonb)
language sql
stable
set search_path = ''
as $$
  select a ->> 'kind', app.alert_subject(a), a
    from (select jsonb_array_elements(public.admin_token_alerts()) a
          union all select jsonb_array_elements(public.admin_ros_alerts()) a
          union all select s from app.silence_alerts() s) x
$$;

-- Brings app.alerts up to date: new identities are inserted, seen ones touched, gone ones
-- resolved.
create or replace function app.refresh_alerts()
returns void
language sql
set search_path = ''
as $$
  with now_open as materialized (
    select distinct on (c.kind, c.subject) c.kind, c.subject, c.detail from app.current_alerts() c
     order by c.kind, c.subject
  ), touched as (
    update app.alerts a set last_seen = now(), detail = n.detail
      from now_open n
     where a.resolved_at is null and a.kind = n.kind and a.subject = n.subject
    returning a.id
  ), resolved as (
    update app.alerts a set resolved_at = now()
     where a.resolved_at is null
       and not exists (select 1 from now_open n where n.kind = a.kind and n.subject = a.subject)
    returning a.id
  )
  insert into app.alerts (kind, subject, detail)
  select n.kind, n.subject, n.detail from now_open n
   where not exists (select 1 from app.alerts a
                      where a.resolved_at is null and a.kind = n.kind and a.subject = n.subject)
$$;

-- What resolves each kind: the action named in every message.
create or replace function app.alert_action(p_kind text, p_detail jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(p_detail ->> 'hint', case p_kind
    when 'slot_failed' then 'admin_retry_slot pays what the slot did not'
    when 'silent_completion' then 'admin_retry_slot pays the stakes it skipped'
    when 'partial_completion' then 'admin_retry_slot pays the rest'
    when 'missing_payouts' then 'admin_retry_slot pays the missing stakes'
    when 'overdue_slot' then 'check the ros-execute-due-slots cron job (cron_job_failing says why)'
    when 'stuck_transfer' then 'the reconciler finishes it; if it stays, check the chain node and fees'
    when 'failed_transfer' then 'the investments are claimed again; look at the error'
    when 'discrepancy' then 'compare chain and books (token_distribution_report) and correct the cause'
    when 'audit_unavailable' then 'check the tokenization''s chain and contract address'
    when 'reorg_detected' then 'admin_resend_transfer sends the recorded bytes again (never a new payment)'
    when 'waiting_on_kyc' then 'admin_set_kyc_status decides the investor''s KYC'
    when 'waiting_on_wallet' then 'the investor sets a payout wallet'
    when 'amount_mismatch' then 'admin_resolve_investment: accept or cancel'
    when 'investment_failed' then 'fix the cause, then set the investment back to confirmed'
    else 'see the console''s alerts' end)
$$;

-- The one-line message of an alert in a state, in the business zone: what, about what, since
-- when, and what to do. Ids only: no names, emails or amounts of money.
create or replace function app.alert_text(p_alert app.alerts, p_state text)
returns text
language sql
stable
set search_path = ''
as $$
  select format('[%s] %s (%s) since %s%s. %s',
    case p_state when 'open' then 'ALERT' when 'reminder' then 'STILL OPEN' else 'RESOLVED' end,
    replace(p_alert.kind, '_', ' '), p_alert.subject,
    to_char(p_alert.first_seen at time zone app.business_tz(), 'YYYY-MM-DD HH24:MI'),
    ' ' || app.business_tz(),
    case when p_state = 'resolved'
         then 'Resolved at ' || to_char(p_alert.resolved_at at time zone app.business_tz(), 'YYYY-MM-DD HH24:MI') || '.'
         else 'To resolve: ' || app.alert_action(p_alert.kind, p_alert.detail) || '.' end)
$$;

-- The pg_cron job: refresh, settle earlier deliveries, send what is due. Returns what it sent.
create or replace function app.deliver_alerts()
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_reminder interval := app.setting('alert_reminder_after')::interval;
  v_due record;
  v_body jsonb;
  v_headers jsonb;
  v_request bigint;
  v_sent int := 0;
begin
  -- The ROS slots' counts first (10_ros_alerts.sql): every alert refreshed below stands on a kept
  -- count, so a slot the alerts' own budget did not reach is never taken for one that cleared.
  perform app.count_ros_slots();
  -- One run at a time (transaction-level: safe behind a pooler).
  perform pg_catalog.pg_advisory_xact_lock(7303);
  perform app.refresh_alerts();
  update app.alert_deliveries d
     set delivered = r.status_code between 200 and 299, status_code = r.status_code
    from net._http_response r
   where d.delivered is null and r.id = d.net_request_id;
  update app.alert_deliveries set delivered = false
   where delivered is null and sent_at < now() - interval '5 minutes';
  for v_due in
    select a, c.name as channel, c.kind as channel_kind, c.url_secret_id, c.signing_secret_id, s.state
      from app.alerts a
      cross join app.alert_channels c
      cross join lateral (
        select bool_or(d.state = 'open' and d.delivered) as opened,
               bool_or(d.delivered is not false and d.state = 'open') as open_sent,
               bool_or(d.delivered is not false and d.state = 'resolved') as resolved_sent,
               bool_or(d.delivered is null and d.state = 'reminder') as reminder_pending,
               max(d.sent_at) filter (where d.delivered and d.state in ('open', 'reminder')) as last_told
          from app.alert_deliveries d where d.alert_id = a.id and d.channel = c.name
      ) h
      cross join lateral (select case
          when a.resolved_at is null and not coalesce(h.open_sent, false) then 'open'
          when a.resolved_at is null and a.acknowledged_at is null and h.opened
               and not coalesce(h.reminder_pending, false) and h.last_told < now() - v_reminder then 'reminder'
          when a.resolved_at is not null and h.opened and not coalesce(h.resolved_sent, false) then 'resolved'
        end as state) s
     where c.enabled and s.state is not null
       and (a.resolved_at is null or a.resolved_at > now() - interval '7 days')
     order by (a).id, c.name
  loop
    v_body := case v_due.channel_kind
      when 'slack' then jsonb_build_object('text', app.alert_text(v_due.a, v_due.state))
      else jsonb_build_object(
        'alert', jsonb_build_object('id', (v_due.a).id, 'kind', (v_due.a).kind,
          'subject', (v_due.a).subject, 'detail', (v_due.a).detail - 'hint',
          'first_seen', (v_due.a).first_seen, 'last_seen', (v_due.a).last_seen,
          'resolved_at', (v_due.a).resolved_at,
          'action', app.alert_action((v_due.a).kind, (v_due.a).detail)),
        'state', v_due.state,
        'text', app.alert_text(v_due.a, v_due.state))
      end;
    v_headers := jsonb_build_object('Content-Type', 'application/json');
    if v_due.channel_kind = 'webhook' then
      -- pg_net sends the body as jsonb's text: the signature is over exactly those bytes.
      v_headers := v_headers || jsonb_build_object('x-payout-signature', pg_catalog.encode(
        extensions.hmac(pg_catalog.convert_to(v_body::text, 'UTF8'),
          pg_catalog.convert_to((select s.decrypted_secret from vault.decrypted_secrets s
                                  where s.id = v_due.signing_secret_id), 'UTF8'), 'sha256'), 'hex'));
    end if;
    v_request := net.http_post(
      url := (select s.decrypted_secret from vault.decrypted_secrets s where s.id = v_due.url_secret_id),
      body := v_body, headers := v_headers, timeout_milliseconds := 5000);
    insert into app.alert_deliveries (alert_id, channel, state, net_request_id)
    values ((v_due.a).id, v_due.channel, v_due.state, v_request);
    v_sent := v_sent + 1;
  end loop;
  return jsonb_build_object('sent', v_sent,
    'open', (select count(*) from app.alerts where resolved_at is null));
end
$$;

create or replace function public.admin_set_alert_channel(p_name text, p_kind text, p_url text,
  p_secret text default null, p_enabled boolean default true)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_old app.alert_channels;
  v_url_id uuid;
  v_secret_id uuid;
begin
  perform app.require_admin(true);
  if not coalesce(app.is_channel_name(p_name), false) then
    perform app.fail('PT400', 'p_name must be 1-63 lower-case letters, digits, - or _');
  end if;
  if p_kind is null or not p_kind = any (app.alert_channel_kinds()) then
    perform app.fail('PT400', 'p_kind must be slack or webhook');
  end if;
  if coalesce(p_url, '') !~ '^https?://[^\s/?#]+[^\s]*$' or length(p_url) > 2000 then
    perform app.fail('PT400', 'p_url must be an http(s) URL of at most 2000 characters');
  end if;
  if p_secret is not null and (length(p_secret) < 16 or length(p_secret) > 500) then
    perform app.fail('PT400', 'p_secret must be 16 to 500 characters');
  end if;
  if p_kind = 'slack' and p_secret is not null then
    perform app.fail('PT400', 'a slack channel is not signed: leave p_secret null');
  end if;
  select * into v_old from app.alert_channels where name = p_name for update;
  if p_kind = 'webhook' and p_secret is null and (v_old.name is null or v_old.signing_secret_id is null) then
    perform app.fail('PT400', 'a webhook channel needs p_secret: its messages are signed with it');
  end if;
  v_url_id := v_old.url_secret_id;
  if v_url_id is null then
    v_url_id := vault.create_secret(p_url, 'alert_channel_url:' || p_name, 'alert channel URL');
  else
    perform vault.update_secret(v_url_id, p_url);
  end if;
  v_secret_id := case when p_kind = 'webhook' then v_old.signing_secret_id end;
  if p_secret is not null then
    if v_secret_id is null then
      v_secret_id := vault.create_secret(p_secret, 'alert_channel_secret:' || p_name || ':'
        || gen_random_uuid(), 'alert channel signing secret');
    else
      perform vault.update_secret(v_secret_id, p_secret);
    end if;
  end if;
  insert into app.alert_channels (name, kind, url_secret_id, signing_secret_id, enabled)
  values (p_name, p_kind, v_url_id, v_secret_id, coalesce(p_enabled, true))
  on conflict (name) do update
     set kind = excluded.kind, url_secret_id = excluded.url_secret_id,
         signing_secret_id = excluded.signing_secret_id, enabled = excluded.enabled, updated_at = now();
  perform app.audit('set_alert_channel', jsonb_build_object('channel', p_name),
    case when v_old.name is null then null
         else jsonb_build_object('kind', v_old.kind, 'enabled', v_old.enabled) end,
    jsonb_build_object('kind', p_kind, 'enabled', coalesce(p_enabled, true),
      'url_changed', true, 'secret_changed', p_secret is not null));
  return jsonb_build_object('name', p_name, 'kind', p_kind, 'enabled', coalesce(p_enabled, true),
    'url_host', substring(p_url from '^https?://([^/?#:]+)'), 'signed', v_secret_id is not null,
    'created', v_old.name is null);
end
$$;
comment on function public.admin_set_alert_channel(text, text, text, text, boolean) is
  'Admin (aal2) or service: creates or updates an alert channel: slack (a Slack-compatible incoming '
  'webhook, {"text": ...}) or webhook (JSON {"alert", "state", "text"} signed with the hex '
  'HMAC-SHA256 of the body under p_secret in x-payout-signature). The URL and secret go to Vault and '
  'are never returned; a webhook keeps its secret when p_secret is null. Returns {name, kind, enabled, '
  'url_host, signed, created}. PT400 for a bad name, kind, URL or secret.';
revoke all on function public.admin_set_alert_channel(text, text, text, text, boolean) from public;
grant execute on function public.admin_set_alert_channel(text, text, text, text, boolean)
  to authenticated, service_role;

create or replace function public.admin_alert_channels()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  return coalesce((
    select jsonb_agg(jsonb_build_object('name', c.name, 'kind', c.kind, 'enabled', c.enabled,
             'url_host', substring(u.decrypted_secret from '^https?://([^/?#:]+)'),
             'signed', c.signing_secret_id is not null, 'updated_at', c.updated_at,
             'last_delivered_at', (select max(d.sent_at) from app.alert_deliveries d
                                    where d.channel = c.name and d.delivered),
             'failed_deliveries', (select count(*) from app.alert_deliveries d
                                    where d.channel = c.name and d.delivered is false
                                      and d.sent_at > now() - interval '1 day'))
           order by c.name)
      from app.alert_channels c
      left join vault.decrypted_secrets u on u.id = c.url_secret_id), '[]'::jsonb);
end
$$;
comment on function public.admin_alert_channels() is
  'Admin or service: the alert channels: {name, kind, enabled, url_host, signed, updated_at, '
  'last_delivered_at, failed_deliveries (last day)}; never a URL path or a secret.';
revoke all on function public.admin_alert_channels() from public;
grant execute on function public.admin_alert_channels() to authenticated, service_role;

create or replace function public.admin_alert_log(p_limit int default 100, p_before timestamptz default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform app.fail('PT400', 'p_limit must be between 1 and 1000');
  end if;
  return coalesce((
    select jsonb_agg(jsonb_build_object('id', a.id, 'kind', a.kind, 'subject', a.subject,
             'detail', a.detail,
             'state', case when a.resolved_at is not null then 'resolved'
                           when a.acknowledged_at is not null then 'acknowledged' else 'open' end,
             'first_seen', a.first_seen, 'last_seen', a.last_seen, 'resolved_at', a.resolved_at,
             'notified_at', (select max(d.sent_at) from app.alert_deliveries d
                              where d.alert_id = a.id and d.delivered),
             'acknowledged_at', a.acknowledged_at, 'acknowledged_by', a.acknowledged_by,
             'acknowledge_note', a.acknowledge_note,
             'action', app.alert_action(a.kind, a.detail))
           order by a.first_seen desc, a.id desc)
      from (select * from app.alerts
             where p_before is null or first_seen < p_before
             order by first_seen desc, id desc limit p_limit) a), '[]'::jsonb);
end
$$;
comment on function public.admin_alert_log(int, timestamptz) is
  'Admin or service: every recorded alert, newest first (p_limit 1-1000, before p_before): {id, kind, '
  'subject, detail, state (open, acknowledged, resolved), first_seen, last_seen, resolved_at, '
  'notified_at (last delivery a channel accepted), acknowledged_at, acknowledged_by, '
  'acknowledge_note, action}.';
revoke all on function public.admin_alert_log(int, timestamptz) from public;
grant execute on function public.admin_alert_log(int, timestamptz) to authenticated, service_role;

create or replace function public.admin_acknowledge_alert(p_alert_id bigint, p_note text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_alert app.alerts;
begin
  perform app.require_admin(true);
  perform app.require_text(p_note, 'p_note', app.max_note_length());
  select * into v_alert from app.alerts where id = p_alert_id for update;
  if v_alert.id is null then
    perform app.fail('PT404', 'no such alert');
  end if;
  if v_alert.resolved_at is not null or v_alert.acknowledged_at is not null then
    perform app.fail('PT409', 'this alert is already '
      || case when v_alert.resolved_at is not null then 'resolved' else 'acknowledged' end);
  end if;
  update app.alerts set acknowledged_at = now(), acknowledged_by = auth.uid(), acknowledge_note = p_note
   where id = v_alert.id;
  perform app.audit('acknowledge_alert', jsonb_build_object('alert_id', v_alert.id, 'note', p_note),
    jsonb_build_object('kind', v_alert.kind, 'subject', v_alert.subject),
    jsonb_build_object('acknowledged', true));
  return jsonb_build_object('id', v_alert.id, 'kind', v_alert.kind, 'subject', v_alert.subject,
    'acknowledged', true);
end
$$;
comment on function public.admin_acknowledge_alert(bigint, text) is
  'Admin (aal2) or service: acknowledges an open alert: no more reminders (its resolution is still '
  'sent). PT404 unknown, PT409 resolved or already acknowledged; audited with p_note. Returns {id, '
  'kind, subject, acknowledged}.';
revoke all on function public.admin_acknowledge_alert(bigint, text) from public;
grant execute on function public.admin_acknowledge_alert(bigint, text) to authenticated, service_role;

-- reorg_detected's way out: the transfer's recorded bytes sent again by the next reconciler run.
create or replace function public.admin_resend_transfer(p_transfer_id uuid, p_note text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_t app.token_transfers;
begin
  perform app.require_admin(true);
  perform app.require_text(p_note, 'p_note', app.max_note_length());
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status <> 'confirmed' or v_t.raw_tx is null or not exists (
       select 1 from app.current_discrepancies() d
        where d.kind = 'reorg_detected' and d.detail ->> 'transfer_id' = v_t.id::text) then
    perform app.fail('PT409', 'only a confirmed transfer that the latest reconciliation found '
      || 'reorganised away (reorg_detected) is sent again');
  end if;
  update app.token_transfers set resend_requested_at = now() where id = v_t.id;
  perform app.audit('resend_transfer', jsonb_build_object('transfer_id', v_t.id, 'note', p_note),
    jsonb_build_object('tx_hash', v_t.tx_hash), jsonb_build_object('resend_requested', true));
  return jsonb_build_object('transfer_id', v_t.id, 'tx_hash', v_t.tx_hash, 'nonce', v_t.nonce,
    'resend_requested', true);
end
$$;
comment on function public.admin_resend_transfer(uuid, text) is
  'Admin (aal2) or service: the way out of reorg_detected. The next reconciler run sends the '
  'transfer''s recorded raw bytes again (the same transaction: same nonce and hash, never a new '
  'payment), filling the hole every later nonce waits behind. PT404 unknown, PT409 when the latest '
  'run did not find it reorganised away; audited. Returns {transfer_id, tx_hash, nonce, resend_requested}.';
revoke all on function public.admin_resend_transfer(uuid, text) from public;
grant execute on function public.admin_resend_transfer(uuid, text) to authenticated, service_role;

create or replace function public.transfers_to_resend()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role reconciles');
  return coalesce((select jsonb_agg(jsonb_build_object('transfer_id', t.id, 'tx_hash', t.tx_hash,
                            'raw_tx', t.raw_tx) order by t.nonce)
                     from app.token_transfers t
                    where t.resend_requested_at is not null and t.status = 'confirmed'), '[]'::jsonb);
end
$$;
comment on function public.transfers_to_resend() is
  'Service (the reconciler): confirmed transfers an admin asked to send again (admin_resend_transfer), '
  'with their recorded raw bytes.';
revoke all on function public.transfers_to_resend() from public;
grant execute on function public.transfers_to_resend() to service_role;

create or replace function public.mark_transfers_resent(p_transfer_ids uuid[])
returns int
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_n int;
begin
  perform app.require_service('only the service role reconciles');
  update app.token_transfers set resend_requested_at = null, resent_at = now()
   where id = any (coalesce(p_transfer_ids, '{}')) and resend_requested_at is not null;
  get diagnostics v_n = row_count;
  return v_n;
end
$$;
comment on function public.mark_transfers_resent(uuid[]) is
  'Service (the reconciler): the transfers whose recorded bytes it sent again; returns how many.';
revoke all on function public.mark_transfers_resent(uuid[]) from public;
grant execute on function public.mark_transfers_resent(uuid[]) to service_role;
