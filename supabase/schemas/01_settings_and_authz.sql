-- Settings, caller checks shared by every RPC, and the admin audit trail.
create table app.settings (
  key text primary key,
  value text not null,
  updated_at timestamptz not null default now()
);
alter table app.settings enable row level security;

insert into app.settings (key, value) values
  ('business_time_zone', 'Africa/Lagos'),
  ('default_max_return_percent', '200'),
  ('overdue_slot_after', '5 minutes')
on conflict (key) do nothing;

-- plpgsql, not sql: a sql function with its own search_path is never inlined, and is parsed and
-- planned again in every transaction that calls it (~50 us, twice per Paystack event); plpgsql
-- keeps its plan for the session.
-- Each setting's default is its row, inserted once by the schema file that owns the setting; a
-- read never supplies a default of its own, so a missing row is an error (55000), not a silent
-- second default.
create or replace function app.setting(p_key text)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_value text;
begin
  select s.value into v_value from app.settings s where s.key = p_key;
  if v_value is null then
    raise exception 'setting % is missing from app.settings', p_key using errcode = '55000';
  end if;
  return v_value;
end
$$;

-- A budget read from a setting, never more than p_share of the statement timeout in force (so
-- that the step that starts last still ends inside it).
create or replace function app.budget_within_timeout(p_budget interval, p_share numeric)
returns interval
language sql
stable
set search_path = ''
as $$
  select case when t.ms > 0 then least(p_budget, t.ms * p_share * interval '1 millisecond')
              else p_budget end
    from (select s.setting::bigint as ms from pg_catalog.pg_settings s
           where s.name = 'statement_timeout') t
$$;

-- Dates of distributions are calendar days in this zone (Africa/Lagos unless configured).
create or replace function app.business_tz()
returns text
language sql
stable
set search_path = ''
as $$
  select app.setting('business_time_zone')
$$;

create or replace function app.business_today()
returns date
language sql
stable
set search_path = ''
as $$
  select (pg_catalog.now() at time zone app.business_tz())::date
$$;

-- Raise an error with a PostgREST-mapped SQLSTATE (PTxyz -> HTTP xyz, 42501 -> 401/403).
create or replace function app.fail(p_code text, p_message text, p_hint text default null)
returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception using errcode = p_code, message = p_message, hint = coalesce(p_hint, '');
end
$$;

-- A state machine's guard: a row trigger that refuses any change of the column TG_ARGV[0] that is
-- not a (from_status, to_status) row of the transitions function TG_ARGV[1] (each state machine's
-- table of transitions, in the file that owns it). Fired only when the column changes. A refusal
-- is a bug in the caller, never an input error: 23514, like a check constraint.
create or replace function app.check_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_from text := pg_catalog.to_jsonb(old) ->> tg_argv[0];
  v_to text := pg_catalog.to_jsonb(new) ->> tg_argv[0];
  v_allowed boolean;
begin
  execute pg_catalog.format(
    'select exists (select 1 from %s() t where t.from_status = $1 and t.to_status = $2)',
    tg_argv[1]::regproc)
    into v_allowed using v_from, v_to;
  if not v_allowed then
    raise exception '%.%: % to % is not a transition of its state machine (%)',
      tg_table_name, tg_argv[0], v_from, v_to, tg_argv[1]
      using errcode = '23514';
  end if;
  return new;
end
$$;

-- The service role, or an internal caller (pg_cron, a migration, psql as owner) that has not
-- switched to an API role. Inside security definer functions current_user is the owner, but the
-- `role` setting still tells which API role PostgREST switched to.
-- (plpgsql for the reason app.setting gives.)
create or replace function app.is_service()
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce(auth.jwt() ->> 'role', '') = 'service_role'
      or coalesce(nullif(pg_catalog.current_setting('role', true), ''), 'none')
         not in ('anon', 'authenticated', 'service_role');
end
$$;

-- Service-only RPCs: 42501 with the given reason for anyone else.
create or replace function app.require_service(p_message text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not app.is_service() then
    perform app.fail('42501', p_message, 'this RPC is called by the platform with the service role key');
  end if;
end
$$;

create or replace function app.is_admin()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(auth.jwt() -> 'app_metadata' ->> 'role', '') = 'admin'
     and coalesce(auth.jwt() ->> 'role', '') = 'authenticated'
$$;

-- Admin gate: reads need app_metadata.role = 'admin'; mutations also need MFA (aal2).
create or replace function app.require_admin(p_mutation boolean)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if app.is_service() then
    return;
  end if;
  if not app.is_admin() then
    perform app.fail('42501', 'admin role required',
      'sign in with an account whose app_metadata.role is admin');
  end if;
  if p_mutation and coalesce(auth.jwt() ->> 'aal', '') <> 'aal2' then
    perform app.fail('42501', 'multi-factor authentication (aal2) required for this action',
      'complete MFA and retry with the upgraded session');
  end if;
end
$$;

create or replace function app.require_user()
returns uuid
language plpgsql
stable
set search_path = ''
as $$
begin
  if auth.uid() is null then
    perform app.fail('42501', 'sign in required', 'call with a user JWT');
  end if;
  return auth.uid();
end
$$;

-- Every admin mutation leaves who, what, before, after and when.
create table app.admin_audit (
  id bigint generated always as identity primary key,
  actor uuid,
  actor_role text not null,
  action text not null,
  target jsonb not null default '{}'::jsonb,
  before jsonb,
  after jsonb,
  created_at timestamptz not null default now()
);
alter table app.admin_audit enable row level security;
create index admin_audit_created_at on app.admin_audit (created_at);

create or replace function app.audit(p_action text, p_target jsonb, p_before jsonb, p_after jsonb)
returns void
language sql
set search_path = ''
as $$
  insert into app.admin_audit (actor, actor_role, action, target, before, after)
  values (auth.uid(), coalesce(auth.jwt() ->> 'role', 'internal'), p_action, p_target, p_before, p_after)
$$;

-- Money in JSON is a decimal string with two places ("1.00"): never a float.
create or replace function app.money_text(p_amount numeric)
returns text
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.to_char(coalesce(p_amount, 0), 'FM999999999999999990.00')
$$;

-- The audit trail for the dashboard: who did what, with the state before and after, newest first.
create or replace function public.admin_audit_log(p_limit int default 100, p_before timestamptz default null)
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
    select jsonb_agg(to_jsonb(a) order by a.created_at desc, a.id desc)
      from (select * from app.admin_audit
             where p_before is null or created_at < p_before
             order by created_at desc, id desc
             limit p_limit) a), '[]'::jsonb);
end
$$;
comment on function public.admin_audit_log(int, timestamptz) is
  'Admin (any aal) or service: the audit trail, newest first: [{id, actor, actor_role, action, '
  'target, before, after, created_at}], at most p_limit (1-1000) rows before p_before. PT400 for '
  'another limit.';
revoke all on function public.admin_audit_log(int, timestamptz) from public;
grant execute on function public.admin_audit_log(int, timestamptz) to authenticated, service_role;
