-- The baseline: every object of supabase/schemas/, in schema_paths order (generated once, when
-- the 23 development migrations were squashed before anything was deployed). Later changes are
-- edits to supabase/schemas/ and a migration from `npm run db:diff -- <name>`.

-- ==== 00_platform.sql ====

-- Baseline: extensions, deny-by-default privileges, the private schema and health().
-- In pg_catalog, as Supabase's dashboard installs it: an extension in public is an advisor
-- warning (its objects would sit in the API's schema). Its jobs live in schema cron either way.
create extension if not exists pg_cron with schema pg_catalog;

create extension if not exists pgcrypto with schema extensions;

-- pg_net exists on hosted Supabase; the local stack emulates its net.http_post instead.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net with schema extensions;
  end if;
end
$$;

-- Deny by default: nothing created from here on is callable or readable by the API roles until a
-- migration grants it explicitly. Supabase's own defaults grant everything to anon/authenticated.
-- PUBLIC's execute on new functions is a global default: a per-schema revoke cannot remove it.
alter default privileges revoke execute on functions from public;

alter default privileges in schema public revoke all on functions from anon, authenticated, service_role;

alter default privileges in schema public revoke all on tables from anon, authenticated;

alter default privileges in schema public revoke all on sequences from anon, authenticated;

-- Internal state lives in `app`, which PostgREST does not expose. The API is the set of RPCs and
-- caller-scoped views in `public`.
create schema if not exists app;

revoke all on schema app from public;
-- The investor views (my_wallets, my_stakes, …) are security_invoker views: they read app's
-- tables with the caller's rights, so RLS policies and column grants beside each table decide
-- what an investor sees. PostgREST exposes only `public`: app is never reachable directly.
grant usage on schema app to authenticated;

create or replace function public.health()
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'ok', true,
    'database', pg_catalog.current_database(),
    'time', pg_catalog.now()
  )
$$;
comment on function public.health() is
  'Liveness probe for the API: {"ok":true,...} once the database and migrations are in place.';
revoke all on function public.health() from public;
grant execute on function public.health() to anon, authenticated, service_role;

-- ==== 01_settings_and_authz.sql ====

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

create or replace function app.setting(p_key text)
returns text
language sql
stable
set search_path = ''
as $$
  select value from app.settings where key = p_key
$$;

-- Dates of distributions are calendar days in this zone (Africa/Lagos unless configured).
create or replace function app.business_tz()
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce(app.setting('business_time_zone'), 'Africa/Lagos')
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

-- The service role, or an internal caller (pg_cron, a migration, psql as owner) that has not
-- switched to an API role. Inside security definer functions current_user is the owner, but the
-- `role` setting still tells which API role PostgREST switched to.
create or replace function app.is_service()
returns boolean
language sql
stable
set search_path = ''
as $$
  select coalesce(auth.jwt() ->> 'role', '') = 'service_role'
      or coalesce(nullif(pg_catalog.current_setting('role', true), ''), 'none')
         not in ('anon', 'authenticated', 'service_role')
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

-- ==== 02_input_validation.sql ====

-- Input validation in one place (issue 9, CONTRACT "Platform fidelity"): every money, percentage,
-- whole-number, free-text and timestamp argument goes through one helper, so NaN and Infinity,
-- sub-cent money, oversized keys and zone-less times are refused (PT400) or read the same way by
-- every RPC. The RPCs call these helpers; none repeats a check of its own.

-- The documented input limits (README "Input limits").
insert into app.settings (key, value) values
  ('max_money', '999999999999.99'),
  ('max_reference_length', '200'),
  ('max_note_length', '2000')
on conflict (key) do nothing;

-- Money: finite, at most 2 decimals (never rounded), within max_money; positive or non-negative.
-- Null is the caller's business (optional arguments keep their meaning).
create or replace function app.require_money(p_value numeric, p_name text, p_positive boolean)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_value is null then
    return;
  end if;
  if p_value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric) then
    perform app.fail('PT400', format('%s must be a finite amount, not %s', p_name, p_value));
  end if;
  if p_value <> pg_catalog.round(p_value, 2) then
    perform app.fail('PT400', format('%s has more than 2 decimals: %s', p_name, p_value),
      'sub-cent amounts are refused, never rounded');
  end if;
  if p_positive and p_value <= 0 then
    perform app.fail('PT400', format('%s must be greater than 0', p_name));
  end if;
  if p_value < 0 then
    perform app.fail('PT400', format('%s cannot be negative', p_name));
  end if;
  if p_value > coalesce(app.setting('max_money')::numeric, 999999999999.99) then
    perform app.fail('PT400', format('%s is larger than the most one operation may move', p_name));
  end if;
end
$$;

-- A percentage: finite, greater than 0, at most 100, at most 4 decimals.
create or replace function app.require_percentage(p_value numeric, p_name text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_value is null or p_value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric)
     or p_value <= 0 or p_value > 100 then
    perform app.fail('PT400', format('%s must be greater than 0 and at most 100', p_name));
  end if;
  if p_value <> pg_catalog.round(p_value, 4) then
    perform app.fail('PT400', format('%s has at most 4 decimals', p_name));
  end if;
end
$$;

-- A whole number of base units (tokens, wei): finite, integral, within uint256.
create or replace function app.require_whole(p_value numeric, p_name text, p_positive boolean)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_value is null then
    return;
  end if;
  if p_value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric)
     or p_value <> pg_catalog.trunc(p_value) or p_value < 0 or p_value >= 1e77 then
    perform app.fail('PT400', format('%s must be a whole, non-negative number of base units', p_name));
  end if;
  if p_positive and p_value = 0 then
    perform app.fail('PT400', format('%s must be greater than 0', p_name));
  end if;
end
$$;

-- Free-text keys and notes: at most p_max characters (keys are indexed; an index entry has a size
-- limit, so an oversized key must be refused before it reaches one).
create or replace function app.require_text(p_value text, p_name text, p_max int)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_value is not null and pg_catalog.length(p_value) > p_max then
    perform app.fail('PT400', format('%s is longer than %s characters', p_name, p_max));
  end if;
end
$$;

create or replace function app.max_reference_length()
returns int
language sql
stable
set search_path = ''
as $$
  select coalesce(app.setting('max_reference_length')::int, 200)
$$;

create or replace function app.max_note_length()
returns int
language sql
stable
set search_path = ''
as $$
  select coalesce(app.setting('max_note_length')::int, 2000)
$$;

-- A time given as text: an explicit offset or zone name is honoured; a time without one is read
-- in the business time zone. Only calendar timestamps: 'now', 'today', 'epoch' and 'infinity'
-- are refused, so a typo can never schedule something for "now".
create or replace function app.business_time(p_value text, p_name text)
returns timestamptz
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_saved text := pg_catalog.current_setting('TimeZone');
  v_at timestamptz;
begin
  if p_value is null then
    return null;
  end if;
  if p_value !~ '^\s*\d{4}-\d{2}-\d{2}' then
    perform app.fail('PT400', format('%s must be a timestamp such as 2026-11-21T12:56:00+01:00: %s',
      p_name, pg_catalog.left(p_value, 100)));
  end if;
  perform pg_catalog.set_config('TimeZone', app.business_tz(), true);
  begin
    v_at := p_value::timestamptz;
  exception when others then
    perform pg_catalog.set_config('TimeZone', v_saved, true);
    perform app.fail('PT400', format('%s is not a valid timestamp: %s', p_name,
      pg_catalog.left(p_value, 100)));
  end;
  perform pg_catalog.set_config('TimeZone', v_saved, true);
  return v_at;
end
$$;

-- Timestamp parameters (admin_update_slot's p_scheduled_for, execute_due_slots' p_now) are
-- converted by PostgREST before the function runs, in the session's time zone. PostgREST applies
-- the impersonated roles' own settings to every request, so the API roles read offset-less times in
-- the business time zone too; re-run this after changing business_time_zone.
create or replace function app.apply_business_tz_to_api_roles()
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'authenticated', 'service_role'] loop
    execute pg_catalog.format('alter role %I set timezone = %L', v_role, app.business_tz());
  end loop;
end
$$;

select app.apply_business_tz_to_api_roles();

-- ==== 03_ledger.sql ====

-- A double-entry ledger. Every transaction's entries sum to zero; an account's balance is the sum of
-- its entries and is written in the same transaction as them. Entries are immutable.
-- Sign convention: +amount increases a user's wallet; platform accounts carry the other side.
create table app.accounts (
  id bigint generated always as identity primary key,
  user_id uuid references auth.users (id) on delete restrict,
  kind text not null check (kind in (
    'funded', 'staked', 'earnings',
    'platform_funding_clearing', 'platform_ros_expense'
  )),
  currency text not null default 'NGN',
  balance numeric(20, 2) not null default 0,
  created_at timestamptz not null default now(),
  constraint user_accounts_have_user check ((kind like 'platform_%') = (user_id is null)),
  constraint user_wallets_never_negative check (kind like 'platform_%' or balance >= 0)
) with (fillfactor = 60);
 -- room for HOT updates: every slot run updates many balances
create unique index accounts_user_kind on app.accounts (user_id, kind, currency) where user_id is not null;
create unique index accounts_platform_kind on app.accounts (kind, currency) where user_id is null;
alter table app.accounts enable row level security;
-- An investor reads their own wallets (public.my_wallets, my_transactions).
create policy accounts_owner_reads on app.accounts for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, kind, currency, balance) on app.accounts to authenticated;

insert into app.accounts (user_id, kind, currency) values
  (null, 'platform_funding_clearing', 'NGN'),
  (null, 'platform_ros_expense', 'NGN');

create table app.ledger_transactions (
  id bigint generated always as identity primary key,
  idempotency_key text not null unique,
  kind text not null check (kind in ('funding', 'stake', 'ros_payout')),
  description text,
  created_at timestamptz not null default now()
);
alter table app.ledger_transactions enable row level security;

-- References are checked once per statement over the transition table (one anti-join) instead of
-- a per-row foreign-key trigger: a slot inserts an entry per stake, and per-row FK checks were a
-- quarter of its cost. Accounts and transactions are never deleted (triggers below), so a
-- reference that was valid on insert stays valid.
create table app.ledger_entries (
  id bigint generated always as identity primary key,
  transaction_id bigint not null,
  account_id bigint not null,
  amount numeric(20, 2) not null check (amount <> 0),
  created_at timestamptz not null default now()
);
create index ledger_entries_account on app.ledger_entries (account_id);
alter table app.ledger_entries enable row level security;
-- An investor reads the entries of their own wallets and those entries' transactions
-- (public.my_transactions: wallet funding).
create policy ledger_entries_owner_reads on app.ledger_entries for select to authenticated
  using (account_id in (select a.id from app.accounts a where a.user_id = (select auth.uid())));
grant select (id, transaction_id, account_id, amount, created_at) on app.ledger_entries
  to authenticated;
create policy ledger_transactions_owner_reads on app.ledger_transactions for select to authenticated
  -- The subquery sees only the caller's own entries, through the policy above.
  using (exists (select 1 from app.ledger_entries e
                  where e.transaction_id = ledger_transactions.id));
grant select (id, kind, description) on app.ledger_transactions to authenticated;
-- Entries by transaction. Without it, two lookups read every entry ever written: the guard that
-- lets a slot run that paid nobody delete its empty transaction, and credit_funded_wallet's
-- duplicate check. A slot's entries share one new transaction id, so they fill this index at its
-- right-most page, in order.
-- `if not exists`: on a database that already holds many entries, build it first with
-- `create index concurrently ledger_entries_transaction on app.ledger_entries (transaction_id)`
-- (a plain build blocks inserts into the ledger while it runs); the migration then keeps it.
create index if not exists ledger_entries_transaction on app.ledger_entries (transaction_id);

create or replace function app.forbid_mutation()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'rows of app.% are permanent: post a reversing transaction instead', tg_table_name
    using errcode = 'PT409';
end
$$;

create trigger ledger_entries_immutable before update or delete on app.ledger_entries
  for each row execute function app.forbid_mutation();

create trigger accounts_permanent before delete on app.accounts
  for each row execute function app.forbid_mutation();

-- A ledger transaction can only be removed while it has no entries (a slot run that paid nobody).
create or replace function app.forbid_delete_posted_transaction()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from app.ledger_entries where transaction_id = old.id) then
    raise exception 'ledger transaction % has entries and is permanent', old.id using errcode = 'PT409';
  end if;
  return old;
end
$$;

create trigger ledger_transactions_permanent before update or delete on app.ledger_transactions
  for each row execute function app.forbid_delete_posted_transaction();

create or replace function app.check_entry_references()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_bad boolean;
  v_nestloop text := app.prefer_hash_for_bulk((select count(*) from new_entries), 'app.accounts');
begin
  -- EXECUTE plans for the actual number of rows each time: a cached plan made for a slot of a
  -- million entries (hash join over every account) must not serve a single-entry posting.
  -- Counting the matches lets the planner join in whichever direction is cheaper (an anti-join
  -- always hashed all accounts); ids are unique, so equal counts mean every reference exists.
  execute 'select (select count(*) from new_entries)
              <> (select count(*) from new_entries n
                    join app.accounts a on a.id = n.account_id
                    join app.ledger_transactions t on t.id = n.transaction_id)'
    into v_bad;
  perform pg_catalog.set_config('enable_nestloop', v_nestloop, true);
  if v_bad then
    raise exception 'a ledger entry references a missing account or transaction'
      using errcode = '23503';
  end if;
  return null;
end
$$;

create trigger ledger_entries_references after insert on app.ledger_entries
  referencing new table as new_entries
  for each statement execute function app.check_entry_references();

create type app.leg as (account_id bigint, amount numeric);

-- Posts one balanced transaction. Returns its id, or null when the idempotency key was already
-- used (the earlier posting stands). Accounts are locked in id order so concurrent postings
-- cannot deadlock.
create or replace function app.post(p_key text, p_kind text, p_description text, p_legs app.leg[])
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_tx bigint;
begin
  if (select coalesce(sum(l.amount), 0) from unnest(p_legs) l) <> 0 then
    raise exception 'unbalanced ledger transaction %', p_key using errcode = 'XX000';
  end if;
  insert into app.ledger_transactions (idempotency_key, kind, description)
  values (p_key, p_kind, p_description)
  on conflict (idempotency_key) do nothing
  returning id into v_tx;
  if v_tx is null then
    return null;
  end if;
  perform 1 from app.accounts a
   where a.id in (select l.account_id from unnest(p_legs) l)
   order by a.id
   for update;
  insert into app.ledger_entries (transaction_id, account_id, amount)
  select v_tx, l.account_id, l.amount from unnest(p_legs) l where l.amount <> 0;
  update app.accounts a
     set balance = a.balance + s.amount
    from (select l.account_id, sum(l.amount) as amount from unnest(p_legs) l group by l.account_id) s
   where a.id = s.account_id;
  return v_tx;
end
$$;

create or replace function app.account_id(p_user uuid, p_kind text, p_currency text default 'NGN')
returns bigint
language sql
stable
set search_path = ''
as $$
  -- Two branches so that each uses its unique index (an OR would scan every account).
  select id from app.accounts
   where p_user is not null and user_id = p_user and kind = p_kind and currency = p_currency
  union all
  select id from app.accounts
   where p_user is null and user_id is null and kind = p_kind and currency = p_currency
$$;

-- Invariant check used by tests, the chaos harness and reconciliation: returns one row per
-- violation (an unbalanced transaction, or an account whose balance is not the sum of entries).
create or replace function app.ledger_violations()
returns table (kind text, ref bigint, detail text)
language sql
stable
set search_path = ''
as $$
  select 'unbalanced_transaction', e.transaction_id, 'sum ' || sum(e.amount)::text
    from app.ledger_entries e group by e.transaction_id having sum(e.amount) <> 0
  union all
  select 'balance_mismatch', a.id, a.balance::text || ' <> ' || coalesce(s.total, 0)::text
    from app.accounts a
    left join (select account_id, sum(amount) as total from app.ledger_entries group by account_id) s
      on s.account_id = a.id
   where a.balance <> coalesce(s.total, 0)
$$;

-- ==== 04_profiles_and_wallets.sql ====

-- Profiles (KYC, wallet address) and the user wallets, created for every new auth user.
create table app.profiles (
  user_id uuid primary key references auth.users (id) on delete cascade,
  kyc_status text not null default 'pending' check (kyc_status in ('pending', 'verified', 'rejected')),
  -- Stored lowercase: addresses compare case-insensitively (EIP-55 case is only a checksum).
  wallet_address text check (wallet_address ~ '^0x[0-9a-f]{40}$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index profiles_wallet_address on app.profiles (wallet_address) where wallet_address is not null;
alter table app.profiles enable row level security;

create or replace function app.on_auth_user_created()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into app.profiles (user_id) values (new.id) on conflict do nothing;
  insert into app.accounts (user_id, kind, currency)
  select new.id, k, 'NGN' from unnest(array['funded', 'staked', 'earnings']) k
  on conflict do nothing;
  return new;
end
$$;
revoke all on function app.on_auth_user_created() from public;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function app.on_auth_user_created();

-- admin_set_kyc_status -------------------------------------------------------------------------
create or replace function public.admin_set_kyc_status(p_user_id uuid, p_status text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_before text;
begin
  perform app.require_admin(true);
  if p_status is null or p_status not in ('pending', 'verified', 'rejected') then
    perform app.fail('PT400', 'p_status must be pending, verified or rejected');
  end if;
  select kyc_status into v_before from app.profiles where user_id = p_user_id for update;
  if not found then
    perform app.fail('PT404', 'no such user', 'check p_user_id');
  end if;
  update app.profiles set kyc_status = p_status, updated_at = now() where user_id = p_user_id;
  perform app.audit('set_kyc_status', jsonb_build_object('user_id', p_user_id),
    jsonb_build_object('kyc_status', v_before), jsonb_build_object('kyc_status', p_status));
  return jsonb_build_object('user_id', p_user_id, 'kyc_status', p_status, 'previous', v_before);
end
$$;
comment on function public.admin_set_kyc_status(uuid, text) is
  'Admin (aal2) or service: sets a user''s KYC status (pending | verified | rejected). Verified '
  'investors with a wallet become eligible for token distribution. Audited.';
revoke all on function public.admin_set_kyc_status(uuid, text) from public;
grant execute on function public.admin_set_kyc_status(uuid, text) to authenticated, service_role;

-- set_my_wallet_address -------------------------------------------------------------------------
create or replace function public.set_my_wallet_address(p_address text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_addr text := lower(btrim(coalesce(p_address, '')));
begin
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'wallet address must be 0x followed by 40 hex digits');
  end if;
  if app.is_protected_address(v_addr) then
    perform app.fail('PT400', 'this address cannot receive payouts (the zero address, a treasury or a token contract)',
      'use a wallet you control');
  end if;
  if exists (select 1 from app.profiles where wallet_address = v_addr and user_id <> v_user) then
    perform app.fail('PT409', 'this wallet address belongs to another account');
  end if;
  update app.profiles set wallet_address = v_addr, updated_at = now() where user_id = v_user;
  if not found then
    perform app.fail('PT404', 'no profile for this user');
  end if;
  return jsonb_build_object('wallet_address', v_addr);
end
$$;
comment on function public.set_my_wallet_address(text) is
  'Authenticated: sets the caller''s payout wallet (0x + 40 hex digits, compared case-insensitively; '
  'stored lowercase). PT400 when malformed or the zero, a treasury or a token contract address, PT409 when another account uses it.';
revoke all on function public.set_my_wallet_address(text) from public;
grant execute on function public.set_my_wallet_address(text) to authenticated;

-- credit_funded_wallet ---------------------------------------------------------------------------
create or replace function public.credit_funded_wallet(p_user_id uuid, p_amount numeric, p_reference text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_key text := 'funding:' || coalesce(p_reference, '');
  v_account bigint;
  v_tx bigint;
  v_prev_amount numeric;
  v_prev_account bigint;
begin
  perform app.require_service('only the service role may credit wallets');
  if p_amount is null then
    perform app.fail('PT400', 'p_amount is required');
  end if;
  perform app.require_money(p_amount, 'p_amount', true);
  perform app.require_text(p_reference, 'p_reference', app.max_reference_length());
  if coalesce(btrim(p_reference), '') = '' then
    perform app.fail('PT400', 'p_reference is required: it makes the credit idempotent');
  end if;
  v_account := app.account_id(p_user_id, 'funded');
  if v_account is null then
    perform app.fail('PT404', 'no such user', 'check p_user_id');
  end if;
  v_tx := app.post(v_key, 'funding', 'Wallet funding ' || p_reference, array[
    (v_account, p_amount)::app.leg,
    (app.account_id(null, 'platform_funding_clearing'), -p_amount)::app.leg
  ]);
  if v_tx is null then
    -- Same reference again: fine if it is the same credit, a conflict if it is not.
    select e.amount, e.account_id into v_prev_amount, v_prev_account
      from app.ledger_transactions t join app.ledger_entries e on e.transaction_id = t.id and e.amount > 0
     where t.idempotency_key = v_key;
    if v_prev_account <> v_account or v_prev_amount <> p_amount then
      perform app.fail('PT409', 'reference already used for a different credit');
    end if;
  end if;
  return jsonb_build_object(
    'duplicate', v_tx is null,
    'balance', app.money_text((select balance from app.accounts where id = v_account)));
end
$$;
comment on function public.credit_funded_wallet(uuid, numeric, text) is
  'Service: credits a user''s funded wallet, idempotent per p_reference. Returns '
  '{"duplicate":bool,"balance":"…"}; PT409 if the reference was used for another amount or user.';
revoke all on function public.credit_funded_wallet(uuid, numeric, text) from public;
grant execute on function public.credit_funded_wallet(uuid, numeric, text) to service_role;

-- my_wallets -----------------------------------------------------------------------------------
create or replace view public.my_wallets with (security_invoker = true, security_barrier = true) as
  select a.kind, a.currency, a.balance
    from app.accounts a
   where a.user_id = auth.uid();
comment on view public.my_wallets is 'The caller''s wallets: funded, staked, earnings.';
revoke all on public.my_wallets from public, anon;
grant select on public.my_wallets to authenticated;

-- ==== 05_stakes.sql ====

-- Stakes: funds moved from the funded wallet into an investment that earns daily ROS up to a cap.
create table app.stakes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete restrict,
  -- Where this stake's ROS is credited; kept on the stake so a slot needs no per-stake lookup.
  earnings_account_id bigint not null references app.accounts (id),
  amount numeric(20, 2) not null check (amount > 0),
  max_return_percent numeric(7, 4) not null default 200 check (max_return_percent > 0),
  total_earned numeric(20, 2) not null default 0,
  status text not null default 'active' check (status in ('active', 'completed', 'cancelled')),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  -- The most a stake may ever earn (200 % by default), rounded down to the cent. The one place
  -- this rule lives: the payout statements read it, and the constraint below enforces it.
  cap numeric generated always as (floor(amount * max_return_percent) / 100) stored,
  -- The cap is enforced by the database itself, not only by the payout statement.
  constraint stake_within_cap check (total_earned >= 0 and total_earned <= cap)
) with (fillfactor = 50);
 -- every slot updates every active stake: room for a HOT version each
create index stakes_user on app.stakes (user_id);
create index stakes_active_created on app.stakes (created_at) where status = 'active';
alter table app.stakes enable row level security;
-- Foreign keys get an index so that checking a referenced row's deletion never scans the table.
-- The column never changes, so stake updates stay HOT.
create index stakes_earnings_account on app.stakes (earnings_account_id);
-- An investor reads their own stakes (public.my_stakes, my_transactions).
create policy stakes_owner_reads on app.stakes for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, amount, total_earned, max_return_percent, status, created_at)
  on app.stakes to authenticated;

-- Stakes end as completed or cancelled, never deleted: payouts refer to them.
create trigger stakes_permanent before delete on app.stakes
  for each row execute function app.forbid_mutation();

create or replace function public.create_stake(p_amount numeric)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_funded bigint;
  v_balance numeric;
  v_stake uuid := gen_random_uuid();
  v_max numeric := coalesce(app.setting('default_max_return_percent')::numeric, 200);
begin
  if p_amount is null then
    perform app.fail('PT400', 'p_amount is required');
  end if;
  perform app.require_money(p_amount, 'p_amount', true);
  select id, balance into v_funded, v_balance
    from app.accounts where user_id = v_user and kind = 'funded' and currency = 'NGN' for update;
  if v_funded is null then
    perform app.fail('PT404', 'no funded wallet for this user');
  end if;
  if v_balance < p_amount then
    perform app.fail('PT400', 'insufficient funds in the funded wallet',
      'fund the wallet first; available: ' || app.money_text(v_balance));
  end if;
  insert into app.stakes (id, user_id, earnings_account_id, amount, max_return_percent)
  values (v_stake, v_user, app.account_id(v_user, 'earnings'), p_amount, v_max);
  perform app.post('stake:' || v_stake, 'stake', 'Stake ' || v_stake, array[
    (v_funded, -p_amount)::app.leg,
    (app.account_id(v_user, 'staked'), p_amount)::app.leg
  ]);
  return jsonb_build_object('stake_id', v_stake, 'amount', app.money_text(p_amount), 'status', 'active',
    'max_return_percent', v_max);
end
$$;
comment on function public.create_stake(numeric) is
  'Authenticated: moves p_amount from the caller''s funded wallet into a new active stake (cap '
  '200 % by default). PT400 for amount <= 0 or insufficient funds. Returns {stake_id, amount, status}.';
revoke all on function public.create_stake(numeric) from public;
grant execute on function public.create_stake(numeric) to authenticated;

create or replace view public.my_stakes with (security_invoker = true, security_barrier = true) as
  select s.id, s.amount, s.total_earned, s.max_return_percent, s.status, s.created_at
    from app.stakes s
   where s.user_id = auth.uid();
comment on view public.my_stakes is 'The caller''s stakes; a stake that reaches its cap is completed.';
revoke all on public.my_stakes from public, anon;
grant select on public.my_stakes to authenticated;

-- ==== 06_ros_schema.sql ====

-- Daily return-on-stake: a declaration per business day, up to 100 scheduled slots, and the
-- payouts. The unique key (stake, date, slot) is what makes "each slot pays each stake once"
-- structural (F1: the old check looked at the date only, so slot 2 was skipped).
create table app.ros_declarations (
  id bigint generated always as identity primary key,
  distribution_date date not null unique,
  multi_slot_enabled boolean not null default true,
  premium_pool numeric(20, 2) not null default 0 check (premium_pool >= 0),
  performance_pool numeric(20, 2) not null default 0 check (performance_pool >= 0),
  description text,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table app.ros_declarations enable row level security;

create table app.ros_slots (
  id bigint generated always as identity primary key,
  declaration_id bigint not null references app.ros_declarations (id),
  distribution_date date not null,
  slot_number int not null check (slot_number between 1 and 100),
  ros_percentage numeric(7, 4) not null check (ros_percentage > 0 and ros_percentage <= 100),
  scheduled_for timestamptz not null,
  status text not null default 'PENDING'
    check (status in ('PENDING', 'EXECUTING', 'COMPLETED', 'FAILED', 'CANCELLED')),
  started_at timestamptz,
  executed_at timestamptz,
  users_processed int not null default 0,
  total_distributed numeric(20, 2) not null default 0,
  error_count int not null default 0,
  error_message text,
  runs int not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (distribution_date, slot_number)
);
create index ros_slots_due on app.ros_slots (scheduled_for, distribution_date, slot_number)
  where status = 'PENDING';
alter table app.ros_slots enable row level security;
create index ros_slots_declaration on app.ros_slots (declaration_id);
-- The slot schedule is the same for every investor: my_transactions reads when each slot ran.
create policy ros_slots_investors_read on app.ros_slots for select to authenticated using (true);
grant select (distribution_date, slot_number, scheduled_for, runs) on app.ros_slots to authenticated;

-- One row per (stake, date, slot), enforced by the primary key. The stake reference is checked
-- per statement (see app.check_entry_references for why); stakes are never deleted.
create table app.ros_payouts (
  stake_id uuid not null,
  distribution_date date not null,
  slot_number int not null,
  user_id uuid not null,
  -- The wallet it was credited to: returned by the insert, so the slot needs no second join.
  earnings_account_id bigint not null,
  amount numeric(20, 2) not null check (amount > 0),
  ledger_transaction_id bigint not null,
  created_at timestamptz not null default now(),
  -- (date, slot) first: a slot's inserts all land in one new, right-most part of the index
  -- instead of pages scattered over every day of history.
  constraint one_payout_per_stake_slot primary key (distribution_date, slot_number, stake_id)
);
alter table app.ros_payouts enable row level security;
-- An investor reads their own payouts (public.my_transactions).
create policy ros_payouts_owner_reads on app.ros_payouts for select to authenticated
  using (user_id = (select auth.uid()));
grant select (stake_id, distribution_date, slot_number, user_id, amount, created_at)
  on app.ros_payouts to authenticated;

create or replace function app.check_payout_references()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_bad boolean;
  v_nestloop text := app.prefer_hash_for_bulk((select count(*) from new_payouts), 'app.stakes');
begin
  -- EXECUTE: planned for the actual row count each time (see app.check_entry_references).
  execute 'select exists (select 1 from new_payouts n
              where not exists (select 1 from app.stakes s where s.id = n.stake_id and s.user_id = n.user_id
                                   and s.earnings_account_id = n.earnings_account_id))'
    into v_bad;
  perform pg_catalog.set_config('enable_nestloop', v_nestloop, true);
  if v_bad then
    raise exception 'a payout references a missing stake' using errcode = '23503';
  end if;
  return null;
end
$$;

create trigger ros_payouts_references after insert on app.ros_payouts
  referencing new table as new_payouts
  for each statement execute function app.check_payout_references();

-- Lock keys (transaction-level advisory locks only: session locks break behind Supavisor).
-- (7301, 0): one slot executor at a time, so two runs never post to the same wallets at once.
-- (7302, slot id): held while a slot pays; other sessions see that slot as EXECUTING.
create or replace function app.slot_is_executing(p_slot_id bigint)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (
    select 1 from pg_catalog.pg_locks l
     where l.locktype = 'advisory' and l.classid = 7302 and l.objid = p_slot_id::oid
       and l.objsubid = 2 and l.granted
       and l.pid <> pg_catalog.pg_backend_pid()
  )
$$;

-- The status as others see it: a PENDING row whose execution is in progress reads EXECUTING.
create or replace function app.slot_status(p_slot app.ros_slots)
returns text
language sql
stable
set search_path = ''
as $$
  select case
    when p_slot.status = 'PENDING' and app.slot_is_executing(p_slot.id) then 'EXECUTING'
    else p_slot.status
  end
$$;

-- ==== 07_ros_execution.sql ====

-- Slot execution: set-based, one transaction per slot run, exactly once per (stake, date, slot).
--
-- Built for a million stakes per slot. What that costs, measured, and how it is avoided here:
--  * ON CONFLICT arbitration (a speculative insertion per payout): the executor lock makes it
--    unnecessary, and an anti-join leaves out stakes already paid;
--  * grouping payouts by wallet over a CTE (no statistics: a million index probes): the wallets
--    are credited from the eligible set, which the planner can estimate;
--  * per-row reference checks: one hash join for a bulk insert (app.bulk_check, below);
--  * indexes filled in random order: payouts are read through stakes (06_ros_schema.sql), and
--    entries are inserted in account order.

-- Pays every stake that was eligible for the slot and has no payout for it yet.
--
-- Exactly once, without ON CONFLICT: the caller holds the executor lock (7301) and this slot's
-- lock (7302), so no other transaction inserts payouts for this (date, slot). The stakes that
-- already have one (a compensation run) are left out by an anti-join; on a first run there are
-- none, and the anti-join is skipped. Anything that still collides violates the primary key and
-- fails the whole run: an error and a FAILED slot, never a second payment.
--
-- Because the insert either writes every eligible row or fails, the wallets can be credited
-- from the same eligible set (one snapshot for the whole statement) instead of from the insert's
-- output; that gives the planner real row estimates. The final check compares the two sums all
-- the same: the ledger must never hold a credit that has no payout.
create or replace function app.pay_slot(p_slot_id bigint, p_run_key text, out paid int, out total numeric)
language plpgsql
set search_path = ''
-- The per-slot sort, hash joins and per-wallet sums stay in memory up to ~1M stakes (the
-- per-wallet numeric sums alone take ~450 MB at a million). Only one slot runs at a time.
set work_mem = '256MB'
as $$
declare
  v_slot app.ros_slots;
  v_tx bigint;
  v_expense bigint := app.account_id(null, 'platform_ros_expense');
  v_first boolean;
  v_credited numeric;
begin
  select * into strict v_slot from app.ros_slots where id = p_slot_id;
  v_first := not exists (select 1 from app.ros_payouts p
                          where p.distribution_date = v_slot.distribution_date
                            and p.slot_number = v_slot.slot_number);
  insert into app.ledger_transactions (idempotency_key, kind, description)
  values (p_run_key, 'ros_payout',
          'ROS ' || v_slot.distribution_date || ' slot ' || v_slot.slot_number)
  returning id into v_tx;

  with eligible as not materialized (
    select s.id as stake_id, s.user_id, s.earnings_account_id,
           least(floor(s.amount * v_slot.ros_percentage) / 100,
                 s.cap - s.total_earned) as amount
      from app.stakes s
     where s.status = 'active'
       and s.created_at <= v_slot.scheduled_for
       and (v_first or not exists (select 1 from app.ros_payouts p
                                    where p.distribution_date = v_slot.distribution_date
                                      and p.slot_number = v_slot.slot_number
                                      and p.stake_id = s.id))
  ), ins as (
    insert into app.ros_payouts
      (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
    select e.stake_id, e.user_id, v_slot.distribution_date, v_slot.slot_number, e.earnings_account_id,
           e.amount, v_tx
      from eligible e
     where e.amount > 0
     order by e.stake_id -- key order: each insert lands on the index's right-most page
    returning stake_id, amount, earnings_account_id
  ), entries as (
    insert into app.ledger_entries (transaction_id, account_id, amount)
    select v_tx, p.earnings_account_id, p.amount from ins p
     order by p.earnings_account_id -- walks the account index once instead of a random probe each
  ), wallets as (
    update app.accounts a
       set balance = a.balance + w.amount
      from (select e.earnings_account_id, sum(e.amount) as amount
              from eligible e
             where e.amount > 0
             group by e.earnings_account_id) w
     where a.id = w.earnings_account_id
    returning w.amount
  ), stakes as (
    -- Keyed by the inserted payouts, so a stake's total moves exactly with its payout.
    update app.stakes s
       set total_earned = s.total_earned + p.amount,
           status = case when s.total_earned + p.amount >= s.cap
                         then 'completed' else s.status end,
           completed_at = case when s.total_earned + p.amount >= s.cap
                               then pg_catalog.now() else s.completed_at end
      from ins p
     where s.id = p.stake_id
  )
  select count(*)::int, coalesce(sum(i.amount), 0), (select coalesce(sum(w.amount), 0) from wallets w)
    into paid, total, v_credited
    from ins i;

  if v_credited <> total then
    raise exception 'slot % credited % to wallets but inserted payouts of %', p_slot_id, v_credited, total
      using errcode = 'XX000';
  end if;
  if paid = 0 then
    delete from app.ledger_transactions where id = v_tx;
    return;
  end if;
  -- The platform side of the posting: one entry for the whole slot run.
  insert into app.ledger_entries (transaction_id, account_id, amount) values (v_tx, v_expense, -total);
  update app.accounts set balance = balance - total where id = v_expense;
end
$$;

-- Runs one claimed slot: COMPLETED with its counts in the transaction that paid, or FAILED with the
-- error and nothing paid (F2). The caller holds the slot row lock.
create or replace function app.run_slot(p_slot_id bigint, p_retry boolean)
returns int
language plpgsql
set search_path = ''
as $$
declare
  v_paid int;
  v_total numeric;
  v_runs int;
begin
  perform pg_catalog.pg_advisory_xact_lock(7302, p_slot_id::int);
  update app.ros_slots
     set runs = runs + 1,
         started_at = case when p_retry then started_at else pg_catalog.clock_timestamp() end,
         status = case when p_retry then status else 'EXECUTING' end
   where id = p_slot_id
  returning runs into v_runs;
  begin
    select paid, total into v_paid, v_total
      from app.pay_slot(p_slot_id, 'ros:slot:' || p_slot_id || ':run:' || v_runs);
    update app.ros_slots
       set status = 'COMPLETED',
           executed_at = pg_catalog.clock_timestamp(),
           users_processed = case when p_retry then users_processed + v_paid else v_paid end,
           total_distributed = case when p_retry then total_distributed + v_total else v_total end,
           error_message = null,
           updated_at = pg_catalog.now()
     where id = p_slot_id;
    return v_paid;
  exception when others then
    -- The block's writes (payouts, postings) are rolled back; the failure itself is kept.
    update app.ros_slots
       set status = 'FAILED',
           executed_at = pg_catalog.clock_timestamp(),
           error_count = error_count + 1,
           error_message = left(sqlerrm, 1000),
           updated_at = pg_catalog.now()
     where id = p_slot_id;
    raise warning 'ROS slot % failed: %', p_slot_id, sqlerrm;
    return null;
  end;
end
$$;

create or replace function public.execute_due_slots(p_now timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slots bigint[];
  v_pass bigint[];
  v_slot bigint;
  v_per_pass int := greatest(coalesce(app.setting('ros_slots_per_pass')::int, 10), 1);
  v_next int := 1;
begin
  perform app.require_service('only the service role and pg_cron run slots');
  if p_now in ('infinity'::timestamptz, '-infinity'::timestamptz) then
    perform app.fail('PT400', 'p_now must be a point in time, not ' || p_now::text,
      'an infinite p_now would run every future slot at once');
  end if;
  -- One executor at a time; a concurrent call returns 0 at once: the running one takes every
  -- due slot, including any that became due meanwhile.
  if not pg_catalog.pg_try_advisory_xact_lock(7301, 0) then
    return 0;
  end if;
  select coalesce(array_agg(d.id order by d.scheduled_for, d.distribution_date, d.slot_number), '{}')
    into v_slots
    from (select s.id, s.scheduled_for, s.distribution_date, s.slot_number
            from app.ros_slots s
           where s.status = 'PENDING' and s.scheduled_for <= coalesce(p_now, pg_catalog.now())
             for update skip locked) d;
  while v_next <= pg_catalog.cardinality(v_slots) loop
    v_pass := v_slots[v_next : v_next + v_per_pass - 1];
    v_next := v_next + v_per_pass;
    if pg_catalog.cardinality(v_pass) > 1 then
      begin
        perform app.run_slots_batch(v_pass);
        continue;
      exception when others then
        -- Undone as a whole; one slot at a time then pays what can be paid and marks what fails.
        raise warning 'ROS pass of % slots failed (%), running them one by one',
          pg_catalog.cardinality(v_pass), sqlerrm;
      end;
    end if;
    foreach v_slot in array v_pass loop
      perform app.run_slot(v_slot, false);
    end loop;
  end loop;
  return pg_catalog.cardinality(v_slots);
end
$$;
comment on function public.execute_due_slots(timestamptz) is
  'Service and pg_cron: runs every PENDING slot with scheduled_for <= p_now, in time then slot '
  'order; returns how many ran. Each slot pays all eligible stakes once, set-based, and ends '
  'COMPLETED (with counts) or FAILED (with the error). Several due slots are paid in passes of up '
  'to ros_slots_per_pass (each slot with its own ledger transaction and counts), a pass falling '
  'back to one slot at a time on any error. Concurrent calls never run a slot twice.';
revoke all on function public.execute_due_slots(timestamptz) from public;
grant execute on function public.execute_due_slots(timestamptz) to service_role;

-- Statement-level reference checks that stay cheap for a slot of a million rows.
-- (They stand in for per-row foreign keys: see app.check_entry_references in 03_ledger.sql.)

-- Whether a statement-level reference check over p_rows new rows should hash the whole
-- referenced table (one sequential pass) rather than probe its index once per row. A probe reads
-- ~4 pages and a sequential pass ~1/8 page per row, so hashing wins from about an eighth of the
-- table's rows on. Small postings (a stake, a funding credit) keep their index probes.
create or replace function app.bulk_check(p_rows bigint, p_table regclass)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_rows * 8 >= (select greatest(c.reltuples, 0) from pg_catalog.pg_class c where c.oid = p_table)
$$;

-- Turns nested loops off for the rest of the transaction when p_rows is a bulk share of p_table
-- (the planner otherwise probes the table once per row: 4 s at a million rows, against 1 s for one
-- hash join). Returns the previous setting; the caller puts it back right after its check query.
create or replace function app.prefer_hash_for_bulk(p_rows bigint, p_table regclass)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_previous text := pg_catalog.current_setting('enable_nestloop');
begin
  if app.bulk_check(p_rows, p_table) then
    perform pg_catalog.set_config('enable_nestloop', 'off', true);
  end if;
  return v_previous;
end
$$;

-- Several due slots in one pass (a catch-up: slots declared late, or an executor that was down).
--
-- execute_due_slots runs every due slot in one transaction (the contract's one call). Run one after
-- another, each slot updates every stake and wallet again, and none of those row versions can be
-- pruned before the transaction ends, so each later slot is slower than the one before: 10 slots over
-- 100k stakes took 41 s in one call against 15 s in ten calls. Paying all of them in one statement
-- writes each stake and wallet once, however many slots are due.
--
-- Same amounts as one slot after another: a stake's payouts follow the slots in execution order,
-- each slot pays floor(amount × pct) / 100 while the cap allows, then what remains, then nothing.
-- With due_j that uncapped amount for the slots the stake was eligible for, and E its total earned
-- before the batch: paid_j = least(due_j, greatest(cap − E − (due_1 + … + due_(j−1)), 0)).
-- Anything unexpected (a failing slot, a payout that already exists) makes the caller fall back to
-- one slot at a time, which records a failure against the slot that failed (F2).
create or replace function app.pay_slots_batch(p_slot_ids bigint[], p_tx_ids bigint[])
returns table (o_slot_id bigint, o_paid int, o_total numeric)
language plpgsql
set search_path = ''
set work_mem = '256MB'
as $$
declare
  v_expense bigint := app.account_id(null, 'platform_ros_expense');
  v_total numeric;
  v_credited numeric;
  v_earned numeric;
  v_run_tx bigint[];
  v_run_paid bigint[];
  v_run_total numeric[];
begin
  if exists (select 1 from app.ros_slots s join app.ros_payouts p
                 on p.distribution_date = s.distribution_date and p.slot_number = s.slot_number
              where s.id = any(p_slot_ids)) then
    raise exception 'a slot of the batch already has payouts' using errcode = 'P0001';
  end if;

  with slots as (
    select u.slot_id, u.tx_id, u.ord, s.distribution_date, s.slot_number, s.ros_percentage, s.scheduled_for
      from unnest(p_slot_ids, p_tx_ids) with ordinality as u(slot_id, tx_id, ord)
      join app.ros_slots s on s.id = u.slot_id
  ), due as not materialized (
    -- One row per (eligible stake, slot), in execution order per stake.
    select k.id as stake_id, k.user_id, k.earnings_account_id, sl.distribution_date, sl.slot_number,
           sl.tx_id, floor(k.amount * sl.ros_percentage) / 100 as due,
           k.cap - k.total_earned as room,
           sum(floor(k.amount * sl.ros_percentage) / 100)
             over (partition by k.id order by sl.ord rows between unbounded preceding and 1 preceding)
             as due_before
      from app.stakes k
      join slots sl on k.created_at <= sl.scheduled_for
     where k.status = 'active'
  ), payable as not materialized (
    select d.*, least(d.due, greatest(d.room - coalesce(d.due_before, 0), 0)) as amount
      from due d
  ), ins as (
    insert into app.ros_payouts
      (stake_id, user_id, distribution_date, slot_number, earnings_account_id, amount, ledger_transaction_id)
    select p.stake_id, p.user_id, p.distribution_date, p.slot_number, p.earnings_account_id, p.amount, p.tx_id
      from payable p
     where p.amount > 0
     order by p.distribution_date, p.slot_number, p.stake_id -- key order, as for one slot
    returning stake_id, amount, earnings_account_id, ledger_transaction_id
  ), entries as (
    insert into app.ledger_entries (transaction_id, account_id, amount)
    select i.ledger_transaction_id, i.earnings_account_id, i.amount from ins i
     order by i.earnings_account_id
  ), wallets as (
    -- Grouped from the stakes (statistics, so one hash join), not from the insert's output.
    update app.accounts a
       set balance = a.balance + w.amount
      from (select p.earnings_account_id, sum(p.amount) as amount
              from payable p where p.amount > 0 group by p.earnings_account_id) w
     where a.id = w.earnings_account_id
    returning w.amount
  ), stake_totals as not materialized (
    -- A stake's whole batch at once: what the slots were due, capped by the room it had left.
    select k.id as stake_id, k.cap as cap,
           least(sum(floor(k.amount * sl.ros_percentage) / 100),
                 k.cap - k.total_earned) as amount
      from app.stakes k
      join slots sl on k.created_at <= sl.scheduled_for
     where k.status = 'active'
     group by k.id
  ), stakes as (
    update app.stakes s
       set total_earned = s.total_earned + t.amount,
           status = case when s.total_earned + t.amount >= t.cap then 'completed' else s.status end,
           completed_at = case when s.total_earned + t.amount >= t.cap then pg_catalog.now()
                               else s.completed_at end
      from stake_totals t
     where s.id = t.stake_id and t.amount > 0
    returning t.amount
  ), per_run as (
    select i.ledger_transaction_id as tx, count(*) as paid, sum(i.amount) as total
      from ins i group by i.ledger_transaction_id
  )
  select coalesce(sum(i.amount), 0),
         (select coalesce(sum(w.amount), 0) from wallets w),
         (select coalesce(sum(s.amount), 0) from stakes s),
         (select array_agg(r.tx order by r.tx) from per_run r),
         (select array_agg(r.paid order by r.tx) from per_run r),
         (select array_agg(r.total order by r.tx) from per_run r)
    into v_total, v_credited, v_earned, v_run_tx, v_run_paid, v_run_total
    from ins i;

  -- The ledger must never hold a credit without its payout, nor a stake total without its payouts.
  if v_credited <> v_total or v_earned <> v_total then
    raise exception 'slot batch: payouts %, wallets credited %, stake totals moved %', v_total, v_credited, v_earned
      using errcode = 'XX000';
  end if;

  -- The platform side, one entry per slot run; runs that paid nobody leave no transaction behind.
  insert into app.ledger_entries (transaction_id, account_id, amount)
  select r.tx, v_expense, -r.total from unnest(v_run_tx, v_run_total) as r(tx, total);
  update app.accounts set balance = balance - v_total where id = v_expense and v_total <> 0;
  delete from app.ledger_transactions t
   where t.id = any(p_tx_ids) and not (t.id = any(coalesce(v_run_tx, '{}')));

  return query
    select u.slot_id, coalesce(r.paid, 0)::int, coalesce(r.total, 0)
      from unnest(p_slot_ids, p_tx_ids) as u(slot_id, tx_id)
      left join unnest(v_run_tx, v_run_paid, v_run_total) as r(tx, paid, total) on r.tx = u.tx_id;
end
$$;

-- The ledger transaction of a slot's current run (same key and description as app.run_slot's).
create or replace function app.new_slot_transaction(p_slot_id bigint)
returns bigint
language sql
volatile
set search_path = ''
as $$
  insert into app.ledger_transactions (idempotency_key, kind, description)
  select 'ros:slot:' || s.id || ':run:' || s.runs, 'ros_payout',
         'ROS ' || s.distribution_date || ' slot ' || s.slot_number
    from app.ros_slots s where s.id = p_slot_id
  returning id
$$;

-- Runs the claimed slots p_slot_ids (in execution order) as one batch: each is locked as
-- executing, gets its own ledger transaction and ends COMPLETED with its own counts. Raises on any
-- error; the caller's subtransaction then undoes all of it.
create or replace function app.run_slots_batch(p_slot_ids bigint[])
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_tx_ids bigint[];
  v_done bigint[];
  v_paid int[];
  v_total numeric[];
begin
  perform pg_catalog.pg_advisory_xact_lock(7302, id::int) from unnest(p_slot_ids) as id;
  update app.ros_slots
     set runs = runs + 1, started_at = pg_catalog.clock_timestamp(), status = 'EXECUTING'
   where id = any(p_slot_ids);
  -- One ledger transaction per slot run, keyed like a single run's.
  select array_agg(app.new_slot_transaction(u.id) order by u.ord) into v_tx_ids
    from unnest(p_slot_ids) with ordinality as u(id, ord);
  -- Paid first, as a statement of its own, so the payment runs exactly once whatever plan the
  -- status update below gets.
  select array_agg(b.o_slot_id), array_agg(b.o_paid), array_agg(b.o_total)
    into v_done, v_paid, v_total
    from app.pay_slots_batch(p_slot_ids, v_tx_ids) b;
  update app.ros_slots s
     set status = 'COMPLETED',
         executed_at = pg_catalog.clock_timestamp(),
         users_processed = r.paid,
         total_distributed = r.total,
         error_message = null,
         updated_at = pg_catalog.now()
    from unnest(v_done, v_paid, v_total) as r(slot_id, paid, total)
   where s.id = r.slot_id;
  -- COMPLETED only with counts from this payment: a slot the payment did not report on must not
  -- stay EXECUTING (or look paid); failing here undoes the pass and the slots run one by one.
  if exists (select 1 from app.ros_slots where id = any(p_slot_ids) and status <> 'COMPLETED') then
    raise exception 'slot batch: a slot got no result from the payment' using errcode = 'XX000';
  end if;
end
$$;

-- Due slots are paid in passes of at most `ros_slots_per_pass` slots (default 10). One pass over
-- every due slot sorts (stakes × slots) rows: 100 slots over a million stakes would be ~100M rows of
-- temp files, and if the database refused that (disk, temp_file_limit) the fall-back would run all
-- 100 slots one by one, the slowest way. Each pass writes every stake and wallet once, so 100 slots
-- make 10 row versions per stake instead of 100 (30 slots x 100k stakes: 31.7 s in one pass, 37.6 s
-- in passes of 10).
insert into app.settings (key, value) values ('ros_slots_per_pass', '10') on conflict (key) do nothing;

-- ==== 08_ros_admin.sql ====

-- Admin RPCs for ROS declarations and slots (the dashboard calls them through supabase-js).
-- Merge semantics (F4): adding slots after others completed is normal; only a slot that is
-- executing right now blocks changes to its day.
create or replace function app.slot_json(p_slot app.ros_slots)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'slot_number', p_slot.slot_number,
    'ros_percentage', p_slot.ros_percentage,
    'scheduled_for', p_slot.scheduled_for,
    'status', app.slot_status(p_slot),
    'started_at', p_slot.started_at,
    'executed_at', p_slot.executed_at,
    'users_processed', p_slot.users_processed,
    'total_distributed', app.money_text(p_slot.total_distributed),
    'error_count', p_slot.error_count,
    'error_message', p_slot.error_message
  )
$$;

-- A declaration's status, derived from its slots (CANCELLED ones ignored); first match wins.
create or replace function app.declaration_status(p_statuses text[])
returns text
language sql
immutable
set search_path = ''
as $$
  with s as (select unnest(p_statuses) as st), live as (select st from s where st <> 'CANCELLED')
  select case
    when exists (select 1 from s) and not exists (select 1 from live) then 'CANCELLED'
    when exists (select 1 from live where st = 'EXECUTING') then 'EXECUTING'
    when not exists (select 1 from live where st in ('COMPLETED', 'FAILED')) then 'PENDING'
    when exists (select 1 from live where st = 'PENDING') then 'PARTIALLY_COMPLETED'
    when exists (select 1 from live where st = 'FAILED') then 'FAILED'
    else 'COMPLETED'
  end
$$;

create or replace function app.declaration_json(p_declaration_id bigint)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with slots as (
    select s, app.slot_status(s) as st from app.ros_slots s where s.declaration_id = p_declaration_id
  )
  select jsonb_build_object(
    'distribution_date', d.distribution_date,
    'status', app.declaration_status(coalesce((select array_agg(st) from slots), '{}')),
    'multi_slot_enabled', d.multi_slot_enabled,
    'premium_pool', app.money_text(d.premium_pool),
    'performance_pool', app.money_text(d.performance_pool),
    'description', d.description,
    'total_ros_percentage', coalesce((select sum((s).ros_percentage) from slots where st <> 'CANCELLED'), 0),
    'total_distributed', app.money_text((select sum((s).total_distributed) from slots)),
    'slots', coalesce((select jsonb_agg(app.slot_json(s) order by (s).slot_number) from slots), '[]'::jsonb),
    'created_at', d.created_at,
    'updated_at', d.updated_at
  )
  from app.ros_declarations d
  where d.id = p_declaration_id
$$;

-- Validates p_slots: a JSON array of {slot_number 1..100, ros_percentage (0, 100] with at most 4
-- decimals, scheduled_for on p_date in the business time zone}. A timestamp without an offset is
-- read in the business time zone. PT400 on anything else.
create type app.slot_input as (slot_number int, ros_percentage numeric, scheduled_for timestamptz);

create or replace function app.parse_slots(p_date date, p_slots jsonb)
returns setof app.slot_input
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_tz text := app.business_tz();
  v_elem jsonb;
  v_num int;
  v_pct numeric;
  v_at timestamptz;
  v_raw text;
  v_seen int[] := '{}'::int[];
begin
  if p_date is null then
    perform app.fail('PT400', 'p_distribution_date is required');
  end if;
  if p_slots is null or jsonb_typeof(p_slots) <> 'array' or jsonb_array_length(p_slots) = 0 then
    perform app.fail('PT400', 'p_slots must be a non-empty JSON array of slots',
      'e.g. [{"slot_number":1,"ros_percentage":1,"scheduled_for":"2026-11-21T12:56:00+01:00"}]');
  end if;
  if jsonb_array_length(p_slots) > 100 then
    perform app.fail('PT400', 'at most 100 slots per day');
  end if;
  for v_elem in select e from jsonb_array_elements(p_slots) e loop
    begin
      if jsonb_typeof(v_elem) <> 'object' then
        raise exception using errcode = '22023';
      end if;
      v_num := (v_elem ->> 'slot_number')::int;
      v_pct := (v_elem ->> 'ros_percentage')::numeric;
      v_raw := v_elem ->> 'scheduled_for';
      v_at := app.business_time(v_raw, 'scheduled_for');
    exception when others then
      perform app.fail('PT400', 'malformed slot: ' || v_elem::text,
        'each slot needs slot_number (integer), ros_percentage (number) and scheduled_for (timestamp)');
    end;
    if v_num is null or v_num < 1 or v_num > 100 then
      perform app.fail('PT400', 'slot_number must be between 1 and 100: ' || v_elem::text);
    end if;
    perform app.require_percentage(v_pct, format('slot %s: ros_percentage', v_num));
    if v_at is null then
      perform app.fail('PT400', 'scheduled_for is required: ' || v_elem::text);
    end if;
    if (v_at at time zone v_tz)::date <> p_date then
      perform app.fail('PT400', format('slot %s: scheduled_for %s is not on %s in %s',
        v_num, v_raw, p_date, v_tz));
    end if;
    if v_num = any (v_seen) then
      perform app.fail('PT400', format('slot_number %s appears twice in p_slots', v_num));
    end if;
    v_seen := v_seen || v_num;
    return next (v_num, v_pct, v_at)::app.slot_input;
  end loop;
end
$$;

-- Locks a day's declaration and all its slots for a change. A slot being executed holds its row
-- lock, so NOWAIT turns "executing" into an immediate PT409 instead of a wait.
create or replace function app.lock_declaration(p_date date, p_must_exist boolean)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  select id into v_id from app.ros_declarations where distribution_date = p_date for update;
  if v_id is null then
    if p_must_exist then
      perform app.fail('PT404', 'no distribution declared for ' || p_date,
        'queue it first with admin_queue_distribution');
    end if;
    return null;
  end if;
  begin
    perform 1 from app.ros_slots where declaration_id = v_id order by slot_number for update nowait;
  exception when lock_not_available then
    perform app.fail('PT409', 'a slot of ' || p_date || ' is executing right now',
      'retry when it has finished (usually seconds)');
  end;
  return v_id;
end
$$;

create or replace function app.require_single_slot_rule(p_declaration_id bigint)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from app.ros_declarations where id = p_declaration_id and not multi_slot_enabled)
     and (select count(*) from app.ros_slots
           where declaration_id = p_declaration_id and status <> 'CANCELLED') > 1 then
    perform app.fail('PT400', 'multi_slot_enabled is false: one slot only',
      'enable multi-slot or declare a single slot');
  end if;
end
$$;

create or replace function public.admin_queue_distribution(
  p_distribution_date date,
  p_slots jsonb,
  p_multi_slot_enabled boolean default null,
  p_premium_pool numeric default null,
  p_performance_pool numeric default null,
  p_description text default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_created boolean := false;
  v_before jsonb;
  v_after jsonb;
  v_skipped int[];
  v_slots app.slot_input[];
begin
  perform app.require_admin(true);
  v_slots := array(select p from app.parse_slots(p_distribution_date, p_slots) p);
  perform app.require_money(p_premium_pool, 'p_premium_pool', false);
  perform app.require_money(p_performance_pool, 'p_performance_pool', false);
  perform app.require_text(p_description, 'p_description', app.max_note_length());

  v_id := app.lock_declaration(p_distribution_date, false);
  if v_id is null then
    insert into app.ros_declarations
      (distribution_date, multi_slot_enabled, premium_pool, performance_pool, description, created_by)
    values (p_distribution_date, coalesce(p_multi_slot_enabled, true), coalesce(p_premium_pool, 0),
            coalesce(p_performance_pool, 0), p_description, auth.uid())
    on conflict (distribution_date) do nothing
    returning id into v_id;
    v_created := v_id is not null;
    if not v_created then -- created concurrently: merge into it
      v_id := app.lock_declaration(p_distribution_date, true);
    end if;
  end if;
  v_before := case when v_created then null else app.declaration_json(v_id) end;

  update app.ros_declarations
     set multi_slot_enabled = coalesce(p_multi_slot_enabled, multi_slot_enabled),
         premium_pool = coalesce(p_premium_pool, premium_pool),
         performance_pool = coalesce(p_performance_pool, performance_pool),
         description = coalesce(p_description, description),
         updated_at = now()
   where id = v_id;

  -- New slot numbers are added; PENDING ones take the new values; COMPLETED, FAILED and
  -- CANCELLED ones are history and stay as they are.
  insert into app.ros_slots (declaration_id, distribution_date, slot_number, ros_percentage, scheduled_for)
  select v_id, p_distribution_date, q.slot_number, q.ros_percentage, q.scheduled_for
    from unnest(v_slots) q
  on conflict (distribution_date, slot_number) do update
     set ros_percentage = excluded.ros_percentage,
         scheduled_for = excluded.scheduled_for,
         updated_at = now()
   where app.ros_slots.status = 'PENDING';
  select array_agg(s.slot_number order by s.slot_number) into v_skipped
    from app.ros_slots s join unnest(v_slots) q using (slot_number)
   where s.declaration_id = v_id and s.status <> 'PENDING';

  perform app.require_single_slot_rule(v_id);
  v_after := app.declaration_json(v_id);
  perform app.audit('queue_distribution', jsonb_build_object('distribution_date', p_distribution_date),
    v_before, v_after);
  return v_after || jsonb_build_object('created', v_created,
    'untouched_slots', coalesce(to_jsonb(v_skipped), '[]'::jsonb));
end
$$;
comment on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text) is
  'Admin (aal2) or service: creates the day''s ROS declaration or merges into it: new slots are '
  'added, PENDING ones updated, COMPLETED/FAILED/CANCELLED ones kept. PT409 while a slot executes; '
  'PT400 for invalid slots or more than one slot with multi_slot_enabled = false. Returns the '
  'declaration plus "created".';
revoke all on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text) from public;
grant execute on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text)
  to authenticated, service_role;

create or replace function public.admin_add_slots(p_distribution_date date, p_slots jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_before jsonb;
  v_after jsonb;
  v_dup int;
  v_slots app.slot_input[];
begin
  perform app.require_admin(true);
  v_id := app.lock_declaration(p_distribution_date, true);
  v_slots := array(select p from app.parse_slots(p_distribution_date, p_slots) p);
  select q.slot_number into v_dup from unnest(v_slots) q
    join app.ros_slots s on s.declaration_id = v_id and s.slot_number = q.slot_number limit 1;
  if v_dup is not null then
    perform app.fail('PT400', format('slot %s already exists on %s', v_dup, p_distribution_date),
      'use admin_update_slot to change a PENDING slot');
  end if;
  v_before := app.declaration_json(v_id);
  insert into app.ros_slots (declaration_id, distribution_date, slot_number, ros_percentage, scheduled_for)
  select v_id, p_distribution_date, q.slot_number, q.ros_percentage, q.scheduled_for from unnest(v_slots) q;
  update app.ros_declarations set updated_at = now() where id = v_id;
  perform app.require_single_slot_rule(v_id);
  v_after := app.declaration_json(v_id);
  perform app.audit('add_slots', jsonb_build_object('distribution_date', p_distribution_date), v_before, v_after);
  return v_after;
end
$$;
comment on function public.admin_add_slots(date, jsonb) is
  'Admin (aal2) or service: adds new slots to an existing declaration. PT404 without a declaration, '
  'PT409 while a slot executes, PT400 if a slot number already exists.';
revoke all on function public.admin_add_slots(date, jsonb) from public;
grant execute on function public.admin_add_slots(date, jsonb) to authenticated, service_role;

-- The slot a single-slot admin action works on, locked, or PT404.
create or replace function app.locked_slot(p_date date, p_slot_number int)
returns app.ros_slots
language plpgsql
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
begin
  perform app.lock_declaration(p_date, true);
  select * into v_slot from app.ros_slots where distribution_date = p_date and slot_number = p_slot_number;
  if v_slot.id is null then
    perform app.fail('PT404', format('no slot %s on %s', p_slot_number, p_date));
  end if;
  return v_slot;
end
$$;

create or replace function public.admin_update_slot(
  p_distribution_date date,
  p_slot_number int,
  p_ros_percentage numeric default null,
  p_scheduled_for timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
  v_new app.ros_slots;
begin
  perform app.require_admin(true);
  v_slot := app.locked_slot(p_distribution_date, p_slot_number);
  if v_slot.status <> 'PENDING' then
    perform app.fail('PT409', format('slot %s is %s: only PENDING slots can change', p_slot_number, v_slot.status),
      'use admin_retry_slot to compensate a FAILED or COMPLETED slot');
  end if;
  perform app.parse_slots(p_distribution_date, jsonb_build_array(jsonb_build_object(
    'slot_number', p_slot_number,
    'ros_percentage', coalesce(p_ros_percentage, v_slot.ros_percentage),
    'scheduled_for', coalesce(p_scheduled_for, v_slot.scheduled_for))));
  update app.ros_slots
     set ros_percentage = coalesce(p_ros_percentage, ros_percentage),
         scheduled_for = coalesce(p_scheduled_for, scheduled_for),
         updated_at = now()
   where id = v_slot.id
  returning * into v_new;
  perform app.audit('update_slot', jsonb_build_object('distribution_date', p_distribution_date,
    'slot_number', p_slot_number), app.slot_json(v_slot), app.slot_json(v_new));
  return app.slot_json(v_new);
end
$$;
comment on function public.admin_update_slot(date, int, numeric, timestamptz) is
  'Admin (aal2) or service: changes a PENDING slot''s percentage and/or time (null keeps the value). '
  'PT409 for any other status, PT404 if the slot does not exist.';
revoke all on function public.admin_update_slot(date, int, numeric, timestamptz) from public;
grant execute on function public.admin_update_slot(date, int, numeric, timestamptz) to authenticated, service_role;

create or replace function public.admin_cancel_slot(p_distribution_date date, p_slot_number int)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
  v_new app.ros_slots;
begin
  perform app.require_admin(true);
  v_slot := app.locked_slot(p_distribution_date, p_slot_number);
  if v_slot.status <> 'PENDING' then
    perform app.fail('PT409', format('slot %s is %s: only PENDING slots can be cancelled',
      p_slot_number, v_slot.status));
  end if;
  update app.ros_slots set status = 'CANCELLED', updated_at = now() where id = v_slot.id returning * into v_new;
  perform app.audit('cancel_slot', jsonb_build_object('distribution_date', p_distribution_date,
    'slot_number', p_slot_number), app.slot_json(v_slot), app.slot_json(v_new));
  return app.slot_json(v_new);
end
$$;
comment on function public.admin_cancel_slot(date, int) is
  'Admin (aal2) or service: cancels a PENDING slot (it will never pay). PT409 for any other status.';
revoke all on function public.admin_cancel_slot(date, int) from public;
grant execute on function public.admin_cancel_slot(date, int) to authenticated, service_role;

-- admin_retry_slot waited without limit for the executor lock. While slots pay (a million stakes
-- take ~20 s), the dashboard's call then died on PostgREST's statement timeout (8 s for
-- `authenticated`) with a bare 500-class error. It now waits at most 5 s, then answers PT409
-- ("slots are executing"), which the contract gives for EXECUTING, and the admin retries later.
create or replace function public.admin_retry_slot(p_distribution_date date, p_slot_number int)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
  v_new app.ros_slots;
  v_paid int;
  v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
begin
  perform app.require_admin(true);
  -- Same executor lock as execute_due_slots: never two payers over the same wallets at once.
  -- The bound is for this wait only: the payment itself must not fail on a short row-lock wait.
  perform pg_catalog.set_config('lock_timeout', '5s', true);
  begin
    perform pg_catalog.pg_advisory_xact_lock(7301, 0);
  exception when lock_not_available then
    perform app.fail('PT409', 'slots are executing right now',
      'retry when they have finished; a slot over a million stakes takes about 20 seconds');
  end;
  perform pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
  v_slot := app.locked_slot(p_distribution_date, p_slot_number);
  if v_slot.status not in ('FAILED', 'COMPLETED') then
    perform app.fail('PT409', format('slot %s is %s: only FAILED or COMPLETED slots can be retried',
      p_slot_number, v_slot.status), 'PENDING slots run on schedule; CANCELLED slots never pay');
  end if;
  v_paid := coalesce(app.run_slot(v_slot.id, true), 0);
  select * into v_new from app.ros_slots where id = v_slot.id;
  perform app.audit('retry_slot', jsonb_build_object('distribution_date', p_distribution_date,
    'slot_number', p_slot_number), app.slot_json(v_slot), app.slot_json(v_new) || jsonb_build_object('paid_now', v_paid));
  return app.slot_json(v_new) || jsonb_build_object('paid_now', v_paid);
end
$$;
comment on function public.admin_retry_slot(date, int) is
  'Admin (aal2) or service: compensation for a FAILED or COMPLETED slot. Pays exactly the stakes '
  'eligible at scheduled_for, active now, with no payout for this slot; returns the slot plus '
  'paid_now (a second call pays 0). PT409 for PENDING, EXECUTING or CANCELLED slots, and when '
  'slots are still executing after 5 s.';
revoke all on function public.admin_retry_slot(date, int) from public;
grant execute on function public.admin_retry_slot(date, int) to authenticated, service_role;

create or replace function public.admin_distribution_status(p_distribution_date date)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_id bigint;
begin
  perform app.require_admin(false);
  select id into v_id from app.ros_declarations where distribution_date = p_distribution_date;
  if v_id is null then
    perform app.fail('PT404', 'no distribution declared for ' || coalesce(p_distribution_date::text, 'null'));
  end if;
  return app.declaration_json(v_id);
end
$$;
comment on function public.admin_distribution_status(date) is
  'Admin or service: the day''s declaration with its derived status and slots. PT404 if none.';
revoke all on function public.admin_distribution_status(date) from public;
grant execute on function public.admin_distribution_status(date) to authenticated, service_role;

create or replace function public.admin_distribution_history(p_from date, p_to date)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  if p_from is null or p_to is null or p_from > p_to then
    perform app.fail('PT400', 'p_from and p_to are required and p_from <= p_to');
  end if;
  if p_to - p_from > 366 then
    perform app.fail('PT400', 'at most 366 days per request');
  end if;
  return coalesce((
    select jsonb_agg(app.declaration_json(d.id) order by d.distribution_date)
      from app.ros_declarations d
     where d.distribution_date between p_from and p_to), '[]'::jsonb);
end
$$;
comment on function public.admin_distribution_history(date, date) is
  'Admin or service: the declarations between p_from and p_to (inclusive), oldest first.';
revoke all on function public.admin_distribution_history(date, date) from public;
grant execute on function public.admin_distribution_history(date, date) to authenticated, service_role;

-- ==== 09_ros_alerts.sql ====

-- ROS monitoring (F10): failures must be loud. Each alert names its day and slot.

-- Stakes that a slot should pay and has not: eligible at scheduled_for, active now, a non-zero
-- payout, and no payout row for (stake, date, slot). Exactly what admin_retry_slot would pay.
create or replace function app.slot_missing_payouts(p_slot app.ros_slots)
returns bigint
language sql
stable
set search_path = ''
as $$
  select count(*) from app.stakes k
   where k.status = 'active'
     and k.created_at <= p_slot.scheduled_for
     and floor(k.amount * p_slot.ros_percentage) > 0
     and not exists (select 1 from app.ros_payouts p
                      where p.stake_id = k.id and p.distribution_date = p_slot.distribution_date
                        and p.slot_number = p_slot.slot_number)
$$;

-- Stakes that were eligible when the slot ran (including those this slot completed at their cap).
create or replace function app.slot_eligible_stakes(p_slot app.ros_slots)
returns bigint
language sql
stable
set search_path = ''
as $$
  select count(*) from app.stakes k
   where k.created_at <= p_slot.scheduled_for
     and floor(k.amount * p_slot.ros_percentage) > 0
     and (k.status = 'active' or (k.status = 'completed' and k.completed_at >= p_slot.started_at))
$$;

create or replace function public.admin_ros_alerts(p_distribution_date date default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_overdue interval := coalesce(app.setting('overdue_slot_after'), '5 minutes')::interval;
  v_today date := app.business_today();
begin
  perform app.require_admin(false);
  return coalesce((
    with slots as (
      select s, app.slot_status(s) as st
        from app.ros_slots s
       where (p_distribution_date is null and s.distribution_date between v_today - 7 and v_today)
          or s.distribution_date = p_distribution_date
    ), measured as (
      select s, st,
             case when st = 'COMPLETED' then app.slot_missing_payouts(s) else 0 end as missing,
             case when st = 'COMPLETED' and (s).users_processed = 0 then app.slot_eligible_stakes(s) else 0 end as eligible
        from slots
    ), alerts as (
      select 'slot_failed' as kind, (s).distribution_date, (s).slot_number,
             jsonb_build_object('error_message', (s).error_message, 'error_count', (s).error_count,
                                'executed_at', (s).executed_at) as detail
        from measured where st = 'FAILED'
      union all
      select 'silent_completion', (s).distribution_date, (s).slot_number,
             jsonb_build_object('users_processed', 0, 'eligible_stakes', eligible)
        from measured where st = 'COMPLETED' and (s).users_processed = 0 and eligible > 0
      union all
      select 'partial_completion', (s).distribution_date, (s).slot_number,
             jsonb_build_object('users_processed', (s).users_processed, 'missing', missing)
        from measured where st = 'COMPLETED' and (s).users_processed > 0 and missing > 0
      union all
      select 'partial_completion', d.distribution_date, null,
             jsonb_build_object('completed', d.completed, 'failed', d.failed)
        from (select (s).distribution_date,
                     count(*) filter (where st = 'COMPLETED') as completed,
                     count(*) filter (where st = 'FAILED') as failed,
                     count(*) filter (where st in ('PENDING', 'EXECUTING')) as open
                from measured group by 1) d
       where d.completed > 0 and d.failed > 0 and d.open = 0
      union all
      select 'missing_payouts', (s).distribution_date, (s).slot_number,
             jsonb_build_object('missing', missing, 'repair', 'admin_retry_slot')
        from measured where missing > 0
      union all
      select 'overdue_slot', (s).distribution_date, (s).slot_number,
             jsonb_build_object('scheduled_for', (s).scheduled_for, 'late_by', now() - (s).scheduled_for)
        from measured where st = 'PENDING' and (s).scheduled_for < now() - v_overdue
    )
    select jsonb_agg(jsonb_build_object('kind', kind, 'distribution_date', distribution_date,
                                        'slot_number', slot_number, 'detail', detail)
                     order by distribution_date, slot_number nulls first, kind)
      from alerts), '[]'::jsonb);
end
$$;
comment on function public.admin_ros_alerts(date) is
  'Admin or service: ROS alerts for a day (default: the last 7 days), as [{kind, distribution_date, '
  'slot_number, detail}]. Kinds: slot_failed, silent_completion (COMPLETED with 0 paid while stakes '
  'were eligible), partial_completion (a slot or a day that paid only part), missing_payouts '
  '(eligible stakes without a payout for a completed slot: repair with admin_retry_slot), '
  'overdue_slot (PENDING past its time: is the executor running?).';
revoke all on function public.admin_ros_alerts(date) from public;
grant execute on function public.admin_ros_alerts(date) to authenticated, service_role;

-- ==== 10_ros_user_views.sql ====

-- What an investor sees of their money: transactions and today's profit.
create or replace view public.my_transactions with (security_invoker = true, security_barrier = true) as
  select 'ros:' || p.stake_id || ':' || p.distribution_date || ':' || p.slot_number as id, 'Daily ROS Payout'::text as type, p.amount, 'Completed'::text as status,
         p.created_at, p.stake_id, p.slot_number, p.distribution_date,
         'Daily ROS ' || p.distribution_date || ' slot ' || p.slot_number as description
    from app.stakes k
    join app.ros_slots sl on sl.runs > 0 and sl.scheduled_for >= k.created_at
    join app.ros_payouts p on p.distribution_date = sl.distribution_date
                          and p.slot_number = sl.slot_number and p.stake_id = k.id
   where k.user_id = auth.uid()
  union all
  select 'stake:' || s.id, 'Stake', s.amount, 'Completed', s.created_at, s.id, null, null,
         'Stake of ' || s.amount::text
    from app.stakes s
   where s.user_id = auth.uid()
  union all
  select 'funding:' || e.id, 'Wallet Funding', e.amount, 'Completed', e.created_at, null, null, null,
         t.description
    from app.ledger_entries e
    join app.ledger_transactions t on t.id = e.transaction_id and t.kind = 'funding'
    join app.accounts a on a.id = e.account_id and a.kind = 'funded'
   where a.user_id = auth.uid();
comment on view public.my_transactions is
  'The caller''s transactions: ROS payouts (type "Daily ROS Payout"), stakes and wallet funding.';
revoke all on public.my_transactions from public, anon;
grant select on public.my_transactions to authenticated;

create or replace function public.my_today_profit(p_date date default null)
returns numeric
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_date date := coalesce(p_date, app.business_today());
begin
  return coalesce((select sum(p.amount)
                     from app.stakes k
                     join app.ros_slots sl on sl.distribution_date = v_date and sl.runs > 0
                     join app.ros_payouts p on p.distribution_date = v_date
                                           and p.slot_number = sl.slot_number and p.stake_id = k.id
                    where k.user_id = v_user), 0);
end
$$;
comment on function public.my_today_profit(date) is
  'Authenticated: the sum of the caller''s ROS payouts for p_date (default: today in the business '
  'time zone); 0 when there are none.';
revoke all on function public.my_today_profit(date) from public;
grant execute on function public.my_today_profit(date) to authenticated;

-- ==== 11_tokens_schema.sql ====

-- Payments and token distribution: tokenizations, investments, Paystack events, transfers (the
-- outbox), nonces and holdings. Token quantities are integer base units: numeric(78,0).
insert into app.settings (key, value) values
  ('transfer_gas_limit', '120000'),
  ('transfer_max_fee_per_gas', '20000000000'),
  ('transfer_max_priority_fee_per_gas', '1000000000'),
  -- 'on': a confirmed payment immediately queues a distribution run for its investor.
  ('auto_distribute', 'on')
on conflict (key) do nothing;

create table app.tokenizations (
  id uuid primary key default gen_random_uuid(),
  property_id text not null unique check (length(property_id) between 1 and 200),
  token_address text not null check (token_address ~ '^0x[0-9a-f]{40}$'),
  chain_id bigint not null check (chain_id > 0),
  price_per_token numeric(20, 2) not null check (price_per_token > 0),
  currency text not null default 'NGN' check (currency ~ '^[A-Z]{3}$'),
  decimals int not null default 0 check (decimals between 0 and 36),
  created_at timestamptz not null default now(),
  unique (chain_id, token_address)
);
alter table app.tokenizations enable row level security;
-- Which property a token is for is public to investors (my_investments, my_token_holdings).
create policy tokenizations_investors_read on app.tokenizations for select to authenticated
  using (true);
grant select (id, property_id) on app.tokenizations to authenticated;

create table app.investments (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id),
  tokenization_id uuid not null references app.tokenizations (id),
  tokens numeric(78, 0) not null check (tokens > 0),
  amount numeric(20, 2) not null check (amount > 0),
  amount_subunit bigint not null check (amount_subunit > 0),
  currency text not null,
  reference text not null unique,
  payment_status text not null default 'pending' check (payment_status in
    ('pending', 'confirmed', 'distributing', 'tokens_distributed', 'amount_mismatch', 'failed')),
  transfer_id uuid,
  confirmed_at timestamptz,
  distributed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- distributing and distributed investments always name their transfer; others never do.
  constraint transfer_matches_status check (
    (payment_status in ('distributing', 'tokens_distributed')) = (transfer_id is not null))
);
create index investments_claimable on app.investments (created_at) where payment_status = 'confirmed';
create index investments_user on app.investments (user_id);
create index investments_transfer on app.investments (transfer_id) where transfer_id is not null;
alter table app.investments enable row level security;
create index investments_tokenization on app.investments (tokenization_id);
-- An investor reads their own investments (public.my_investments, my_token_holdings).
create policy investments_owner_reads on app.investments for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, tokenization_id, tokens, amount, currency, reference, payment_status,
              created_at, confirmed_at, distributed_at, transfer_id)
  on app.investments to authenticated;

-- The per-investment trail: processing (claimed), success (confirmed on chain), failed (released).
create table app.investment_events (
  id bigint generated always as identity primary key,
  investment_id uuid not null references app.investments (id),
  status text not null check (status in ('processing', 'success', 'failed')),
  transfer_id uuid,
  detail text,
  created_at timestamptz not null default now()
);
create index investment_events_investment on app.investment_events (investment_id);
alter table app.investment_events enable row level security;

-- Every Paystack event, once per (event type, data.id): retries are recognised, never re-applied.
create table app.paystack_events (
  id bigint generated always as identity primary key,
  event_type text not null,
  event_id text not null,
  reference text,
  payload jsonb not null,
  outcome text,
  investment_id uuid,
  received_at timestamptz not null default now(),
  unique (event_type, event_id)
);
alter table app.paystack_events enable row level security;

create table app.token_holdings (
  user_id uuid not null references auth.users (id),
  tokenization_id uuid not null references app.tokenizations (id),
  balance numeric(78, 0) not null default 0 check (balance >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, tokenization_id)
);
alter table app.token_holdings enable row level security;
create index token_holdings_tokenization on app.token_holdings (tokenization_id);
-- An investor reads their own holdings (public.my_token_holdings).
create policy token_holdings_owner_reads on app.token_holdings for select to authenticated
  using (user_id = (select auth.uid()));
grant select (user_id, tokenization_id, balance) on app.token_holdings to authenticated;

-- The treasury's next nonce per (chain, signer), allocated under this row's lock; and nonces
-- released by transfers that can never be mined, reused first so no gap blocks the queue.
create table app.treasury_nonces (
  chain_id bigint not null,
  signer text not null check (signer ~ '^0x[0-9a-f]{40}$'),
  next_nonce bigint not null check (next_nonce >= 0),
  primary key (chain_id, signer)
);
alter table app.treasury_nonces enable row level security;

create table app.released_nonces (
  chain_id bigint not null,
  signer text not null,
  nonce bigint not null,
  released_at timestamptz not null default now(),
  primary key (chain_id, signer, nonce)
);
alter table app.released_nonces enable row level security;

-- The outbox (F8): everything needed to sign a transfer again to the same bytes is stored before
-- anything is broadcast, and the signed raw transaction is stored before broadcast too.
create table app.token_transfers (
  id uuid primary key default gen_random_uuid(),
  tokenization_id uuid not null references app.tokenizations (id),
  user_id uuid not null references auth.users (id),
  to_address text not null check (to_address ~ '^0x[0-9a-f]{40}$'),
  token_address text not null,
  chain_id bigint not null,
  signer text not null,
  nonce bigint not null check (nonce >= 0),
  amount numeric(78, 0) not null check (amount > 0),
  gas_limit bigint not null,
  max_fee_per_gas numeric(78, 0) not null,
  max_priority_fee_per_gas numeric(78, 0) not null,
  status text not null default 'planned'
    check (status in ('planned', 'signed', 'broadcast', 'confirmed', 'failed')),
  tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text,
  block_number bigint,
  nonce_consumed boolean,
  error text,
  worker text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  signed_at timestamptz,
  broadcast_at timestamptz,
  confirmed_at timestamptz,
  constraint signed_has_bytes check (status in ('planned', 'failed') or (tx_hash is not null and raw_tx is not null))
);

-- One live or confirmed transfer per nonce: a nonce can be mined only once.
create unique index token_transfers_nonce on app.token_transfers (chain_id, signer, nonce)
  where status <> 'failed';
create index token_transfers_open on app.token_transfers (updated_at)
  where status in ('planned', 'signed', 'broadcast');
create index token_transfers_user on app.token_transfers (user_id, tokenization_id);
alter table app.token_transfers enable row level security;
create index token_transfers_tokenization on app.token_transfers (tokenization_id);
-- An investor reads the transaction hash of their own transfers (public.my_investments).
create policy token_transfers_owner_reads on app.token_transfers for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, tx_hash) on app.token_transfers to authenticated;

alter table app.investments add constraint investments_transfer_fk
  foreign key (transfer_id) references app.token_transfers (id);

-- Every signed version of a transfer (the first, and fee-bumped replacements at the same nonce).
create table app.transfer_attempts (
  transfer_id uuid not null references app.token_transfers (id),
  tx_hash text not null check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text not null,
  max_fee_per_gas numeric(78, 0),
  max_priority_fee_per_gas numeric(78, 0),
  created_at timestamptz not null default now(),
  primary key (transfer_id, tx_hash)
);
create unique index transfer_attempts_hash on app.transfer_attempts (tx_hash);
alter table app.transfer_attempts enable row level security;

-- Calls an edge function asynchronously through pg_net (net.http_post is queued and sent after
-- commit) with the project URL and service key from Vault. Missing secrets only log a warning:
-- the cron sweeps pick the work up anyway.
create or replace function app.invoke_function(p_name text, p_body jsonb)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
begin
  select decrypted_secret into v_url from vault.decrypted_secrets where name = 'project_url';
  select decrypted_secret into v_key from vault.decrypted_secrets where name = 'service_role_key';
  if v_url is null or v_key is null then
    raise warning 'vault secrets project_url/service_role_key missing: % not invoked', p_name;
    return null;
  end if;
  return net.http_post(
    url := v_url || '/functions/v1/' || p_name,
    body := coalesce(p_body, '{}'::jsonb),
    params := '{}'::jsonb,
    headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds := 60000
  );
end
$$;
revoke all on function app.invoke_function(text, jsonb) from public;

-- The treasury's addresses, so that nobody can name one as their payout wallet. Every signer that
-- ever claimed a nonce is one; the stack (or an operator) registers it before the first claim.
create table app.treasury_accounts (
  address text primary key check (address ~ '^0x[0-9a-f]{40}$'),
  created_at timestamptz not null default now()
);
alter table app.treasury_accounts enable row level security;

create or replace function app.remember_treasury_signer()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into app.treasury_accounts (address) values (new.signer) on conflict do nothing;
  return new;
end
$$;

create trigger treasury_nonces_remember_signer after insert on app.treasury_nonces
  for each row execute function app.remember_treasury_signer();

create or replace function public.register_treasury_address(p_address text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_addr text := lower(btrim(coalesce(p_address, '')));
begin
  perform app.require_service('only the service role registers the treasury');
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_address must be 0x followed by 40 hex digits');
  end if;
  insert into app.treasury_accounts (address) values (v_addr) on conflict do nothing;
  return jsonb_build_object('address', v_addr,
    'wallets_using_it', (select count(*) from app.profiles where wallet_address = v_addr));
end
$$;
comment on function public.register_treasury_address(text) is
  'Service: records a treasury (signer) address so no investor can name it as a payout wallet. '
  'Returns {address, wallets_using_it}; a non-zero count needs a person.';
revoke all on function public.register_treasury_address(text) from public;
grant execute on function public.register_treasury_address(text) to service_role;

-- An address that must never receive payouts: the zero address, a treasury, a token contract.
create or replace function app.is_protected_address(p_address text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_address = '0x0000000000000000000000000000000000000000'
      or exists (select 1 from app.treasury_accounts where address = p_address)
      or exists (select 1 from app.treasury_nonces where signer = p_address)
      or exists (select 1 from app.tokenizations where token_address = p_address)
$$;

-- ==== 12_payments.sql ====

-- Tokenizations, investments and the Paystack webhook's RPC.
create or replace function public.admin_register_tokenization(
  p_property_id text,
  p_token_address text,
  p_chain_id bigint,
  p_price_per_token numeric,
  p_currency text default 'NGN',
  p_decimals int default 0
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_addr text := lower(btrim(coalesce(p_token_address, '')));
  v_id uuid;
  v_existing app.tokenizations;
begin
  perform app.require_admin(true);
  if coalesce(btrim(p_property_id), '') = '' then
    perform app.fail('PT400', 'p_property_id is required');
  end if;
  perform app.require_text(p_property_id, 'p_property_id', app.max_reference_length());
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_token_address must be 0x followed by 40 hex digits');
  end if;
  if p_chain_id is null or p_chain_id <= 0 then
    perform app.fail('PT400', 'p_chain_id must be positive');
  end if;
  if p_price_per_token is null then
    perform app.fail('PT400', 'p_price_per_token is required');
  end if;
  perform app.require_money(p_price_per_token, 'p_price_per_token', true);
  if coalesce(p_currency, '') !~ '^[A-Z]{3}$' then
    perform app.fail('PT400', 'p_currency must be an ISO 4217 code such as NGN');
  end if;
  if p_decimals is null or p_decimals < 0 or p_decimals > 36 then
    perform app.fail('PT400', 'p_decimals must be between 0 and 36');
  end if;
  -- Registering the same token for the same property again is a no-op, so scripts can re-run.
  select * into v_existing from app.tokenizations
   where (chain_id = p_chain_id and token_address = v_addr) or property_id = p_property_id
   limit 1;
  if v_existing.id is not null then
    if v_existing.property_id = p_property_id and v_existing.token_address = v_addr
       and v_existing.chain_id = p_chain_id then
      return jsonb_build_object('tokenization_id', v_existing.id, 'created', false);
    end if;
    perform app.fail('PT409', 'this property or token is already registered differently',
      'tokenization ' || v_existing.id);
  end if;
  insert into app.tokenizations (property_id, token_address, chain_id, price_per_token, currency, decimals)
  values (p_property_id, v_addr, p_chain_id, p_price_per_token, p_currency, p_decimals)
  returning id into v_id;
  perform app.audit('register_tokenization', jsonb_build_object('tokenization_id', v_id), null,
    jsonb_build_object('property_id', p_property_id, 'token_address', v_addr, 'chain_id', p_chain_id,
      'price_per_token', p_price_per_token, 'currency', p_currency, 'decimals', p_decimals));
  return jsonb_build_object('tokenization_id', v_id, 'created', true);
end
$$;
comment on function public.admin_register_tokenization(text, text, bigint, numeric, text, int) is
  'Admin (aal2) or service: registers a property''s ERC-20 token. Returns {"tokenization_id"}. '
  'Re-registering the same (property, token, chain) returns the same id; a conflicting one is PT409.';
revoke all on function public.admin_register_tokenization(text, text, bigint, numeric, text, int) from public;
grant execute on function public.admin_register_tokenization(text, text, bigint, numeric, text, int)
  to authenticated, service_role;

create or replace function public.create_investment(p_tokenization_id uuid, p_tokens numeric)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_t app.tokenizations;
  v_amount numeric;
  v_inv app.investments;
begin
  if p_tokens is null then
    perform app.fail('PT400', 'p_tokens is required: a positive whole number of tokens (base units)');
  end if;
  perform app.require_whole(p_tokens, 'p_tokens', true);
  select * into v_t from app.tokenizations where id = p_tokenization_id;
  if v_t.id is null then
    perform app.fail('PT404', 'no such tokenization', 'check p_tokenization_id');
  end if;
  v_amount := p_tokens * v_t.price_per_token / power(10::numeric, v_t.decimals);
  if v_amount <> round(v_amount, 2) or v_amount < 0.01 then
    perform app.fail('PT400', 'the price of this many tokens is not a whole number of kobo');
  end if;
  if v_amount > 99999999999.99 then
    perform app.fail('PT400', 'amount too large for one payment');
  end if;
  insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
  values (v_user, v_t.id, p_tokens, v_amount, (v_amount * 100)::bigint, v_t.currency,
          'INV-' || upper(replace(gen_random_uuid()::text, '-', '')))
  returning * into v_inv;
  return jsonb_build_object(
    'investment_id', v_inv.id,
    'reference', v_inv.reference,
    'tokens', v_inv.tokens::text,
    'amount', app.money_text(v_inv.amount),
    'amount_subunit', v_inv.amount_subunit,
    'currency', v_inv.currency,
    'payment_status', v_inv.payment_status);
end
$$;
comment on function public.create_investment(uuid, numeric) is
  'Authenticated: creates a pending investment in p_tokens tokens. Returns {investment_id, reference, '
  'tokens, amount, amount_subunit (the kobo Paystack charges), currency}; pay with the reference.';
revoke all on function public.create_investment(uuid, numeric) from public;
grant execute on function public.create_investment(uuid, numeric) to authenticated;

create or replace function public.record_paystack_event(p_event jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_type text := p_event ->> 'event';
  v_data jsonb := p_event -> 'data';
  v_event_id text := p_event -> 'data' ->> 'id';
  v_reference text := p_event -> 'data' ->> 'reference';
  v_row bigint;
  v_prev app.paystack_events;
  v_inv app.investments;
  v_outcome text;
  v_amount numeric;
begin
  perform app.require_service('only the service role records Paystack events');
  if v_type is null or jsonb_typeof(v_data) is distinct from 'object' or coalesce(v_event_id, '') = '' then
    perform app.fail('PT400', 'a Paystack event needs "event" and "data.id"');
  end if;
  perform app.require_text(v_type, 'event', 100);
  perform app.require_text(v_event_id, 'data.id', 100);
  perform app.require_text(v_reference, 'data.reference', app.max_reference_length());

  insert into app.paystack_events (event_type, event_id, reference, payload)
  values (v_type, v_event_id, v_reference, p_event)
  on conflict (event_type, event_id) do nothing
  returning id into v_row;
  if v_row is null then
    -- A retry of an event we already have: report, change nothing.
    select * into v_prev from app.paystack_events where event_type = v_type and event_id = v_event_id;
    return jsonb_build_object('outcome', 'duplicate', 'investment_id', v_prev.investment_id,
      'user_id', (select user_id from app.investments where id = v_prev.investment_id),
      'first_outcome', v_prev.outcome);
  end if;

  if v_type <> 'charge.success' then
    v_outcome := 'ignored';
  else
    select * into v_inv from app.investments where reference = v_reference for update;
    if v_inv.id is null then
      v_outcome := 'unknown_reference';
    else
      begin
        v_amount := (v_data ->> 'amount')::numeric;
      exception when others then
        v_amount := null;
      end;
      if v_amount is distinct from v_inv.amount_subunit::numeric
         or upper(coalesce(v_data ->> 'currency', '')) <> v_inv.currency then
        update app.investments set payment_status = 'amount_mismatch', updated_at = now()
         where id = v_inv.id and payment_status = 'pending';
        v_outcome := case when found then 'amount_mismatch' else 'duplicate' end;
      else
        update app.investments
           set payment_status = 'confirmed', confirmed_at = now(), updated_at = now()
         where id = v_inv.id and payment_status = 'pending';
        if found then
          v_outcome := 'investment_confirmed';
          -- Distribution starts after commit, without the webhook waiting for it (F9: this only
          -- enqueues; the claim decides who distributes).
          if coalesce(app.setting('auto_distribute'), 'on') = 'on' then
            perform app.invoke_function('distribute-tokens', jsonb_build_object('user_id', v_inv.user_id));
          end if;
        else
          v_outcome := 'duplicate'; -- already confirmed by another event for the same reference
        end if;
      end if;
    end if;
  end if;

  update app.paystack_events set outcome = v_outcome, investment_id = v_inv.id where id = v_row;
  return jsonb_build_object('outcome', v_outcome, 'investment_id', v_inv.id, 'user_id', v_inv.user_id);
end
$$;
comment on function public.record_paystack_event(jsonb) is
  'Service (the paystack-webhook function): stores every event once per (event, data.id). For '
  'charge.success it matches data.reference, checks amount (kobo) and currency, and moves the '
  'investment pending -> confirmed, then queues distribution. Returns {outcome, investment_id, '
  'user_id}; outcome is investment_confirmed, duplicate, amount_mismatch, unknown_reference or ignored.';
revoke all on function public.record_paystack_event(jsonb) from public;
grant execute on function public.record_paystack_event(jsonb) to service_role;

create or replace view public.my_investments with (security_invoker = true, security_barrier = true) as
  select i.id, i.tokenization_id, t.property_id, i.tokens, i.amount, i.currency, i.reference,
         i.payment_status, i.created_at, i.confirmed_at, i.distributed_at,
         (select tt.tx_hash from app.token_transfers tt where tt.id = i.transfer_id) as tx_hash
    from app.investments i
    join app.tokenizations t on t.id = i.tokenization_id
   where i.user_id = auth.uid();
comment on view public.my_investments is 'The caller''s investments with their payment status.';
revoke all on public.my_investments from public, anon;
grant select on public.my_investments to authenticated;

create or replace view public.my_token_holdings with (security_invoker = true, security_barrier = true) as
  select h.tokenization_id, t.property_id, h.balance,
         coalesce((select sum(i.amount) from app.investments i
                    where i.user_id = h.user_id and i.tokenization_id = h.tokenization_id
                      and i.payment_status = 'tokens_distributed'), 0) as amount_invested
    from app.token_holdings h
    join app.tokenizations t on t.id = h.tokenization_id
   where h.user_id = auth.uid();
comment on view public.my_token_holdings is 'The caller''s token holdings and what they paid for them.';
revoke all on public.my_token_holdings from public, anon;
grant select on public.my_token_holdings to authenticated;

-- ==== 13_token_distribution.sql ====

-- The token distribution state machine. Investments: confirmed -> distributing (claimed into a
-- transfer) -> tokens_distributed (only in the transaction that confirms the transfer), or back
-- to confirmed when the transfer fails. Transfers: planned -> signed -> broadcast -> confirmed,
-- or failed.
create or replace function app.transfer_json(p app.token_transfers)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'transfer_id', p.id,
    'tokenization_id', p.tokenization_id,
    'user_id', p.user_id,
    'to_address', p.to_address,
    'token_address', p.token_address,
    'chain_id', p.chain_id,
    'signer', p.signer,
    'amount', p.amount::text,
    'nonce', p.nonce,
    'gas_limit', p.gas_limit,
    'max_fee_per_gas', p.max_fee_per_gas::text,
    'max_priority_fee_per_gas', p.max_priority_fee_per_gas::text,
    'status', p.status,
    'tx_hash', p.tx_hash,
    'raw_tx', p.raw_tx,
    'attempt_hashes', coalesce((select jsonb_agg(a.tx_hash order by a.created_at)
                                 from app.transfer_attempts a where a.transfer_id = p.id), '[]'::jsonb),
    'investment_ids', coalesce((select jsonb_agg(i.id order by i.created_at)
                                 from app.investments i where i.transfer_id = p.id), '[]'::jsonb),
    'updated_at', p.updated_at
  )
$$;

create or replace function public.claim_token_distributions(
  p_worker text,
  p_signer text,
  p_chain_id bigint,
  p_chain_nonce bigint,
  p_limit int default 50,
  p_user_id uuid default null,
  p_tokenization_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_signer text := lower(coalesce(p_signer, ''));
  v_next bigint;
  v_released bigint[];
  v_groups int;
  v_base bigint;
  v_result jsonb;
begin
  perform app.require_service('only the service role claims distributions');
  if v_signer !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_signer must be the treasury address');
  end if;
  if p_chain_id is null or p_chain_id <= 0 or p_chain_nonce is null or p_chain_nonce < 0 then
    perform app.fail('PT400', 'p_chain_id and p_chain_nonce are required');
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform app.fail('PT400', 'p_limit must be between 1 and 1000');
  end if;

  -- The treasury's nonce row lock serialises claims for this signer (F7): two claims can never
  -- hand out the same nonce. Transaction-scoped, so it is safe behind a pooler.
  insert into app.treasury_nonces (chain_id, signer, next_nonce) values (p_chain_id, v_signer, p_chain_nonce)
  on conflict do nothing;
  select next_nonce into v_next from app.treasury_nonces
   where chain_id = p_chain_id and signer = v_signer for update;
  -- Released nonces below the chain's count were used by something else meanwhile: drop them.
  delete from app.released_nonces
   where chain_id = p_chain_id and signer = v_signer and nonce < p_chain_nonce;

  -- Nonces: released ones first (lowest first), then fresh ones from greatest(stored, chain).
  v_released := array(select nonce from app.released_nonces
                        where chain_id = p_chain_id and signer = v_signer order by nonce limit 1000);
  v_base := greatest(v_next, p_chain_nonce);

  -- One statement: lock, group, number, allocate nonces, write transfers, move investments.
  with candidates as (
    select i.id, i.user_id, i.tokenization_id, i.tokens, i.created_at
      from app.investments i
     where i.payment_status = 'confirmed'
       and (p_user_id is null or i.user_id = p_user_id)
       and (p_tokenization_id is null or i.tokenization_id = p_tokenization_id)
       and exists (select 1 from app.profiles p where p.user_id = i.user_id
                      and p.kyc_status = 'verified' and p.wallet_address is not null)
       and exists (select 1 from app.tokenizations t where t.id = i.tokenization_id and t.chain_id = p_chain_id)
     order by i.created_at
     limit p_limit * 50
       for update of i skip locked
  ), grouped as (
    select c.user_id, c.tokenization_id, sum(c.tokens) as amount,
           array_agg(c.id order by c.created_at) as investment_ids, min(c.created_at) as first_at
      from candidates c
     group by c.user_id, c.tokenization_id
     order by min(c.created_at), c.user_id
     limit p_limit
  ), planned as materialized (
    select gen_random_uuid() as transfer_id, g.*, p.wallet_address as to_address, t.token_address,
           case when n.ord <= coalesce(array_length(v_released, 1), 0) then v_released[n.ord]
                else v_base + (n.ord - coalesce(array_length(v_released, 1), 0) - 1) end as nonce
      from (select g0.*, row_number() over (order by g0.first_at, g0.user_id) as ord from grouped g0) n
      join grouped g on g.user_id = n.user_id and g.tokenization_id = n.tokenization_id
      join app.profiles p on p.user_id = g.user_id
      join app.tokenizations t on t.id = g.tokenization_id
  ), transfers as (
    insert into app.token_transfers (id, tokenization_id, user_id, to_address, token_address, chain_id, signer,
      nonce, amount, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, worker)
    select pl.transfer_id, pl.tokenization_id, pl.user_id, pl.to_address, pl.token_address, p_chain_id, v_signer,
           pl.nonce, pl.amount, app.setting('transfer_gas_limit')::bigint,
           app.setting('transfer_max_fee_per_gas')::numeric, app.setting('transfer_max_priority_fee_per_gas')::numeric,
           left(p_worker, 200)
      from planned pl
    returning *
  ), moved as (
    update app.investments i
       set payment_status = 'distributing', transfer_id = pl.transfer_id, updated_at = now()
      from planned pl
     where i.id = any (pl.investment_ids)
    returning i.id, pl.transfer_id
  ), events as (
    insert into app.investment_events (investment_id, status, transfer_id, detail)
    select m.id, 'processing', m.transfer_id, 'claimed by ' || left(p_worker, 200) from moved m
  )
  select jsonb_agg(jsonb_build_object(
           'transfer_id', t.id, 'tokenization_id', t.tokenization_id, 'user_id', t.user_id,
           'to_address', t.to_address, 'token_address', t.token_address, 'chain_id', t.chain_id,
           'signer', t.signer, 'amount', t.amount::text, 'nonce', t.nonce, 'gas_limit', t.gas_limit,
           'max_fee_per_gas', t.max_fee_per_gas::text,
           'max_priority_fee_per_gas', t.max_priority_fee_per_gas::text,
           'investment_ids', to_jsonb(pl.investment_ids)) order by t.nonce),
         count(*)
    into v_result, v_groups
    from transfers t join planned pl on pl.transfer_id = t.id;
  if v_groups = 0 then
    return '[]'::jsonb;
  end if;

  delete from app.released_nonces
   where chain_id = p_chain_id and signer = v_signer
     and nonce = any (v_released[1:least(v_groups, coalesce(array_length(v_released, 1), 0))]);
  update app.treasury_nonces
     set next_nonce = greatest(next_nonce,
           v_base + greatest(v_groups - coalesce(array_length(v_released, 1), 0), 0))
   where chain_id = p_chain_id and signer = v_signer;
  return v_result;
end
$$;
comment on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid) is
  'Service: claims confirmed investments of KYC-verified investors with a wallet (SKIP LOCKED), '
  'aggregated per (user, tokenization), at most p_limit transfers. Allocates nonces under the '
  'treasury row lock from greatest(stored next nonce, p_chain_nonce), released nonces first, and '
  'moves the investments to distributing. Returns [{transfer_id, tokenization_id, user_id, '
  'to_address, token_address, chain_id, amount, nonce, investment_ids, gas_limit, fees...}].';
revoke all on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid) from public;
grant execute on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid) to service_role;

-- record_signed_transfer(s) --------------------------------------------------------------------
create or replace function app.record_signed(p_transfer_id uuid, p_tx_hash text, p_raw_tx text)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text := lower(coalesce(p_tx_hash, ''));
begin
  if v_hash !~ '^0x[0-9a-f]{64}$' or coalesce(p_raw_tx, '') !~ '^0x[0-9a-fA-F]+$' then
    perform app.fail('PT400', 'p_tx_hash must be a 32-byte 0x hash and p_raw_tx 0x-prefixed hex');
  end if;
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.tx_hash is not null then
    if v_t.tx_hash = v_hash then
      return jsonb_build_object('transfer_id', v_t.id, 'status', v_t.status, 'duplicate', true);
    end if;
    perform app.fail('PT409', 'transfer already signed with another hash',
      'sign it again from its row: the bytes are deterministic');
  end if;
  if v_t.status <> 'planned' then
    perform app.fail('PT409', 'transfer is ' || v_t.status || ': it cannot be signed now');
  end if;
  update app.token_transfers
     set status = 'signed', tx_hash = v_hash, raw_tx = p_raw_tx, signed_at = now(), updated_at = now()
   where id = v_t.id;
  insert into app.transfer_attempts (transfer_id, tx_hash, raw_tx, max_fee_per_gas, max_priority_fee_per_gas)
  values (v_t.id, v_hash, p_raw_tx, v_t.max_fee_per_gas, v_t.max_priority_fee_per_gas)
  on conflict do nothing;
  return jsonb_build_object('transfer_id', v_t.id, 'status', 'signed', 'duplicate', false);
end
$$;

create or replace function public.record_signed_transfer(p_transfer_id uuid, p_tx_hash text, p_raw_tx text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role records transfers');
  return app.record_signed(p_transfer_id, p_tx_hash, p_raw_tx);
end
$$;
comment on function public.record_signed_transfer(uuid, text, text) is
  'Service: stores a planned transfer''s signed raw transaction and hash before it is broadcast '
  '(the outbox). The same hash again is a no-op; a different hash is PT409.';
revoke all on function public.record_signed_transfer(uuid, text, text) from public;
grant execute on function public.record_signed_transfer(uuid, text, text) to service_role;

create or replace function public.record_signed_transfers(p_transfers jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role records transfers');
  if jsonb_typeof(p_transfers) is distinct from 'array' then
    perform app.fail('PT400', 'p_transfers must be an array of {transfer_id, tx_hash, raw_tx}');
  end if;
  return coalesce((
    select jsonb_agg(app.record_signed((e ->> 'transfer_id')::uuid, e ->> 'tx_hash', e ->> 'raw_tx'))
      from jsonb_array_elements(p_transfers) e), '[]'::jsonb);
end
$$;
comment on function public.record_signed_transfers(jsonb) is
  'Service: record_signed_transfer for many transfers in one round trip (all or nothing).';
revoke all on function public.record_signed_transfers(jsonb) from public;
grant execute on function public.record_signed_transfers(jsonb) to service_role;

create or replace function public.mark_transfers_broadcast(p_transfer_ids uuid[])
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_n int;
begin
  perform app.require_service('only the service role updates transfers');
  update app.token_transfers
     set status = 'broadcast', broadcast_at = coalesce(broadcast_at, now()), updated_at = now()
   where id = any (p_transfer_ids) and status = 'signed';
  get diagnostics v_n = row_count;
  return v_n;
end
$$;
comment on function public.mark_transfers_broadcast(uuid[]) is
  'Service: signed -> broadcast for the given transfers (others are left as they are).';
revoke all on function public.mark_transfers_broadcast(uuid[]) from public;
grant execute on function public.mark_transfers_broadcast(uuid[]) to service_role;

-- confirm ----------------------------------------------------------------------------------------
create or replace function app.confirm_transfer(p_transfer_id uuid, p_tx_hash text, p_block_number bigint)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text := lower(coalesce(p_tx_hash, ''));
begin
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status = 'confirmed' then
    if v_t.tx_hash <> v_hash then
      perform app.fail('PT409', 'transfer was confirmed with another hash: ' || v_t.tx_hash);
    end if;
    return jsonb_build_object('transfer_id', v_t.id, 'status', 'confirmed', 'already_confirmed', true);
  end if;
  if v_t.status = 'failed' then
    -- Mined after it was failed: its investments may have been planned again. Never pay twice:
    -- refuse, so that reconciliation reports it.
    perform app.fail('PT409', 'transfer ' || v_t.id || ' was failed but ' || v_hash || ' was mined',
      'investigate: reconciliation reports it as a discrepancy');
  end if;
  if not exists (select 1 from app.transfer_attempts a where a.transfer_id = v_t.id and a.tx_hash = v_hash) then
    perform app.fail('PT409', 'hash ' || v_hash || ' is not an attempt of this transfer');
  end if;
  update app.token_transfers
     set status = 'confirmed', tx_hash = v_hash, block_number = p_block_number, nonce_consumed = true,
         confirmed_at = now(), updated_at = now()
   where id = v_t.id;
  -- F6: holdings are added to, never replaced.
  insert into app.token_holdings as h (user_id, tokenization_id, balance)
  values (v_t.user_id, v_t.tokenization_id, v_t.amount)
  on conflict (user_id, tokenization_id)
  do update set balance = h.balance + excluded.balance, updated_at = now();
  with moved as (
    update app.investments
       set payment_status = 'tokens_distributed', distributed_at = now(), updated_at = now()
     where transfer_id = v_t.id and payment_status = 'distributing'
    returning id
  )
  insert into app.investment_events (investment_id, status, transfer_id, detail)
  select id, 'success', v_t.id, v_hash from moved;
  return jsonb_build_object('transfer_id', v_t.id, 'status', 'confirmed', 'already_confirmed', false);
end
$$;

create or replace function public.confirm_token_transfer(p_transfer_id uuid, p_tx_hash text, p_block_number bigint)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role confirms transfers');
  return app.confirm_transfer(p_transfer_id, p_tx_hash, p_block_number) - 'transfer_id';
end
$$;
comment on function public.confirm_token_transfer(uuid, text, bigint) is
  'Service: the transfer was mined successfully. Idempotent: {"status":"confirmed","already_confirmed":bool}. '
  'Adds the amount to token_holdings (never replaces) and moves its investments to tokens_distributed.';
revoke all on function public.confirm_token_transfer(uuid, text, bigint) from public;
grant execute on function public.confirm_token_transfer(uuid, text, bigint) to service_role;

create or replace function public.confirm_token_transfers(p_confirmations jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role confirms transfers');
  if jsonb_typeof(p_confirmations) is distinct from 'array' then
    perform app.fail('PT400', 'p_confirmations must be an array of {transfer_id, tx_hash, block_number}');
  end if;
  return coalesce((
    select jsonb_agg(app.confirm_transfer((e ->> 'transfer_id')::uuid, e ->> 'tx_hash', (e ->> 'block_number')::bigint))
      from jsonb_array_elements(p_confirmations) e), '[]'::jsonb);
end
$$;
comment on function public.confirm_token_transfers(jsonb) is
  'Service: confirm_token_transfer for many transfers in one round trip (all or nothing).';
revoke all on function public.confirm_token_transfers(jsonb) from public;
grant execute on function public.confirm_token_transfers(jsonb) to service_role;

-- fail -----------------------------------------------------------------------------------------
create or replace function public.fail_token_transfer(p_transfer_id uuid, p_error text, p_nonce_consumed boolean)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_released int;
begin
  perform app.require_service('only the service role fails transfers');
  if p_nonce_consumed is null then
    perform app.fail('PT400', 'p_nonce_consumed is required: was the nonce used on chain?');
  end if;
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status = 'confirmed' then
    perform app.fail('PT409', 'a confirmed transfer cannot fail');
  end if;
  if v_t.status = 'failed' then
    return jsonb_build_object('transfer_id', v_t.id, 'status', 'failed', 'already_failed', true, 'released', 0);
  end if;
  update app.token_transfers
     set status = 'failed', error = left(coalesce(p_error, 'failed'), 2000), nonce_consumed = p_nonce_consumed,
         updated_at = now()
   where id = v_t.id;
  if not p_nonce_consumed then
    insert into app.released_nonces (chain_id, signer, nonce) values (v_t.chain_id, v_t.signer, v_t.nonce)
    on conflict do nothing;
  end if;
  -- Released investments are claimed again, except after three failed transfers: then they stop
  -- as `failed` (listed by admin_token_alerts) instead of burning gas every minute forever.
  with released as (
    update app.investments i
       set payment_status = case
             when (select count(*) from app.investment_events e
                    where e.investment_id = i.id and e.status = 'failed') >= 2 then 'failed'
             else 'confirmed' end,
           transfer_id = null, updated_at = now()
     where i.transfer_id = v_t.id and i.payment_status = 'distributing'
    returning i.id
  ), ev as (
    insert into app.investment_events (investment_id, status, transfer_id, detail)
    select id, 'failed', v_t.id, left(coalesce(p_error, 'failed'), 2000) from released
  )
  select count(*) into v_released from released;
  return jsonb_build_object('transfer_id', v_t.id, 'status', 'failed', 'already_failed', false,
    'released', v_released, 'nonce_released', not p_nonce_consumed);
end
$$;
comment on function public.fail_token_transfer(uuid, text, boolean) is
  'Service: the transfer can never deliver (reverted, or never broadcast and never will be). Its '
  'investments return to confirmed for a later claim. With p_nonce_consumed = false the nonce is '
  'released and the next claim reuses it, leaving no gap. Idempotent; PT409 for a confirmed transfer.';
revoke all on function public.fail_token_transfer(uuid, text, boolean) from public;
grant execute on function public.fail_token_transfer(uuid, text, boolean) to service_role;

create or replace function public.transfers_to_reconcile(p_stale_after interval default '2 minutes')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role reconciles');
  return coalesce((
    select jsonb_agg(app.transfer_json(t) order by t.chain_id, t.signer, t.nonce)
      from app.token_transfers t
     where t.status in ('planned', 'signed', 'broadcast')
       and t.updated_at <= now() - coalesce(p_stale_after, '2 minutes'::interval)), '[]'::jsonb);
end
$$;
comment on function public.transfers_to_reconcile(interval) is
  'Service: transfers stuck in planned, signed or broadcast for longer than p_stale_after, with '
  'everything needed to sign, rebroadcast or look them up (raw_tx, every attempt hash).';
revoke all on function public.transfers_to_reconcile(interval) from public;
grant execute on function public.transfers_to_reconcile(interval) to service_role;

create or replace function public.token_distribution_report(p_tokenization_id uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  return coalesce((
    with keys as (
      select user_id, tokenization_id from app.token_holdings
      union
      select user_id, tokenization_id from app.investments
       where payment_status in ('confirmed', 'distributing', 'tokens_distributed')
    ), rows as (
      select k.user_id, k.tokenization_id,
             coalesce((select sum(i.tokens) from app.investments i where i.user_id = k.user_id
                        and i.tokenization_id = k.tokenization_id and i.payment_status = 'tokens_distributed'), 0) as distributed,
             coalesce((select h.balance from app.token_holdings h where h.user_id = k.user_id
                        and h.tokenization_id = k.tokenization_id), 0) as holdings,
             coalesce((select sum(i.tokens) from app.investments i where i.user_id = k.user_id
                        and i.tokenization_id = k.tokenization_id and i.payment_status = 'distributing'), 0) as in_flight,
             coalesce((select sum(i.tokens) from app.investments i where i.user_id = k.user_id
                        and i.tokenization_id = k.tokenization_id and i.payment_status = 'confirmed'), 0) as waiting
        from keys k
       where p_tokenization_id is null or k.tokenization_id = p_tokenization_id
    )
    select jsonb_agg(jsonb_build_object(
             'user_id', r.user_id, 'tokenization_id', r.tokenization_id,
             'distributed', r.distributed::text, 'holdings', r.holdings::text,
             'in_flight', r.in_flight::text, 'waiting', r.waiting::text,
             'discrepancy', r.distributed <> r.holdings)
           order by (r.distributed <> r.holdings) desc, r.tokenization_id, r.user_id)
      from rows r), '[]'::jsonb);
end
$$;
comment on function public.token_distribution_report(uuid) is
  'Admin or service: per (user, tokenization) the distributed sum, the holdings balance, what is in '
  'flight and what waits; "discrepancy" is true when holdings differ from what was distributed.';
revoke all on function public.token_distribution_report(uuid) from public;
grant execute on function public.token_distribution_report(uuid) to authenticated, service_role;

-- ==== 14_reconciliation.sql ====

-- Reconciliation support: fee-bump attempts, nonce gap filling, the chain audit and its history,
-- and token alerts for the dashboard.

-- A replacement signed at the same nonce with higher fees. Every attempt is kept, so whichever
-- one is mined can be confirmed.
create or replace function public.record_transfer_attempt(
  p_transfer_id uuid, p_tx_hash text, p_raw_tx text, p_max_fee_per_gas numeric, p_max_priority_fee_per_gas numeric
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text := lower(coalesce(p_tx_hash, ''));
begin
  perform app.require_service('only the service role records transfer attempts');
  if v_hash !~ '^0x[0-9a-f]{64}$' or coalesce(p_raw_tx, '') !~ '^0x[0-9a-fA-F]+$' then
    perform app.fail('PT400', 'p_tx_hash must be a 32-byte 0x hash and p_raw_tx 0x-prefixed hex');
  end if;
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status not in ('signed', 'broadcast') then
    perform app.fail('PT409', 'only a signed or broadcast transfer can be replaced; it is ' || v_t.status);
  end if;
  if p_max_fee_per_gas is null or p_max_fee_per_gas <= v_t.max_fee_per_gas then
    perform app.fail('PT400', 'a replacement must raise the fee');
  end if;
  insert into app.transfer_attempts (transfer_id, tx_hash, raw_tx, max_fee_per_gas, max_priority_fee_per_gas)
  values (v_t.id, v_hash, p_raw_tx, p_max_fee_per_gas, p_max_priority_fee_per_gas)
  on conflict do nothing;
  -- The row now describes the newest attempt: re-signing it from the row gives these bytes.
  update app.token_transfers
     set tx_hash = v_hash, raw_tx = p_raw_tx, max_fee_per_gas = p_max_fee_per_gas,
         max_priority_fee_per_gas = p_max_priority_fee_per_gas, updated_at = now()
   where id = v_t.id;
  return jsonb_build_object('transfer_id', v_t.id, 'tx_hash', v_hash,
    'attempts', (select count(*) from app.transfer_attempts where transfer_id = v_t.id));
end
$$;
comment on function public.record_transfer_attempt(uuid, text, text, numeric, numeric) is
  'Service: stores a fee-bumped replacement of a stuck transfer (same nonce, higher fees) before it '
  'is broadcast. Every attempt stays confirmable.';
revoke all on function public.record_transfer_attempt(uuid, text, text, numeric, numeric) from public;
grant execute on function public.record_transfer_attempt(uuid, text, text, numeric, numeric) to service_role;

-- A released nonce that the reconciler filled with a no-op transaction is used up.
create or replace function public.consume_released_nonce(p_chain_id bigint, p_signer text, p_nonce bigint)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role manages nonces');
  delete from app.released_nonces where chain_id = p_chain_id and signer = lower(p_signer) and nonce = p_nonce;
  return found;
end
$$;
comment on function public.consume_released_nonce(bigint, text, bigint) is
  'Service: marks a released nonce as used (the reconciler filled the gap with a no-op transaction).';
revoke all on function public.consume_released_nonce(bigint, text, bigint) from public;
grant execute on function public.consume_released_nonce(bigint, text, bigint) to service_role;

create or replace function public.released_nonces(p_chain_id bigint, p_signer text)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role manages nonces');
  return jsonb_build_object(
    'released', coalesce((select jsonb_agg(nonce order by nonce) from app.released_nonces
                           where chain_id = p_chain_id and signer = lower(p_signer)), '[]'::jsonb),
    'max_live_nonce', (select max(nonce) from app.token_transfers where chain_id = p_chain_id
                          and signer = lower(p_signer) and status in ('planned', 'signed', 'broadcast')));
end
$$;
comment on function public.released_nonces(bigint, text) is
  'Service: released (reusable) nonces and the highest nonce still in flight, to find gaps.';
revoke all on function public.released_nonces(bigint, text) from public;
grant execute on function public.released_nonces(bigint, text) to service_role;

-- What the audit compares on chain: per (user, tokenization) the wallet and the books, and per
-- token what the treasury should still hold.
create or replace function public.token_audit_targets()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role audits');
  return jsonb_build_object(
    'holders', coalesce((
      select jsonb_agg(jsonb_build_object(
               'user_id', h.user_id, 'tokenization_id', h.tokenization_id, 'wallet_address', p.wallet_address,
               'token_address', t.token_address, 'chain_id', t.chain_id, 'holdings', h.balance::text,
               'distributed', coalesce((select sum(i.tokens) from app.investments i where i.user_id = h.user_id
                  and i.tokenization_id = h.tokenization_id and i.payment_status = 'tokens_distributed'), 0)::text,
               -- Signed or broadcast transfers may be mined before they are confirmed here.
               'in_flight', coalesce((select sum(x.amount) from app.token_transfers x where x.user_id = h.user_id
                  and x.tokenization_id = h.tokenization_id and x.status in ('signed', 'broadcast')), 0)::text))
        from app.token_holdings h
        join app.tokenizations t on t.id = h.tokenization_id
        join app.profiles p on p.user_id = h.user_id), '[]'::jsonb),
    'tokens', coalesce((
      select jsonb_agg(jsonb_build_object(
               'tokenization_id', t.id, 'token_address', t.token_address, 'chain_id', t.chain_id,
               'holdings_total', coalesce((select sum(h.balance) from app.token_holdings h
                                            where h.tokenization_id = t.id), 0)::text,
               'in_flight_total', coalesce((select sum(x.amount) from app.token_transfers x
                                             where x.tokenization_id = t.id and x.status in ('signed', 'broadcast')), 0)::text))
        from app.tokenizations t), '[]'::jsonb));
end
$$;
comment on function public.token_audit_targets() is
  'Service: the (wallet, token) pairs and totals the reconciler compares with balanceOf on chain.';
revoke all on function public.token_audit_targets() from public;
grant execute on function public.token_audit_targets() to service_role;

create table app.reconciliation_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default now(),
  summary jsonb not null
);
alter table app.reconciliation_runs enable row level security;

create table app.token_discrepancies (
  id bigint generated always as identity primary key,
  run_id bigint not null references app.reconciliation_runs (id),
  kind text not null,
  user_id uuid,
  tokenization_id uuid,
  detail jsonb not null,
  created_at timestamptz not null default now()
);
create index token_discrepancies_run on app.token_discrepancies (run_id);
alter table app.token_discrepancies enable row level security;

create or replace function public.record_reconciliation_run(p_summary jsonb, p_discrepancies jsonb)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run bigint;
begin
  perform app.require_service('only the service role records reconciliation runs');
  insert into app.reconciliation_runs (summary) values (coalesce(p_summary, '{}'::jsonb)) returning id into v_run;
  insert into app.token_discrepancies (run_id, kind, user_id, tokenization_id, detail)
  select v_run, coalesce(d ->> 'kind', 'unknown'), (d ->> 'user_id')::uuid, (d ->> 'tokenization_id')::uuid, d
    from jsonb_array_elements(coalesce(p_discrepancies, '[]'::jsonb)) d;
  return v_run;
end
$$;
comment on function public.record_reconciliation_run(jsonb, jsonb) is
  'Service: stores a reconciliation run''s counts and the discrepancies it found.';
revoke all on function public.record_reconciliation_run(jsonb, jsonb) from public;
grant execute on function public.record_reconciliation_run(jsonb, jsonb) to service_role;

create or replace function public.admin_token_alerts(p_stuck_after interval default '10 minutes')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_last bigint := (select max(id) from app.reconciliation_runs);
begin
  perform app.require_admin(false);
  return coalesce((
    select jsonb_agg(a order by a ->> 'kind')
      from (
        select jsonb_build_object('kind', 'stuck_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
                 'status', t.status, 'nonce', t.nonce, 'since', t.updated_at) as a
          from app.token_transfers t
         where t.status in ('planned', 'signed', 'broadcast') and t.updated_at < now() - p_stuck_after
        union all
        select jsonb_build_object('kind', 'failed_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
                 'error', t.error, 'at', t.updated_at)
          from app.token_transfers t
         where t.status = 'failed' and t.updated_at > now() - interval '7 days'
        union all
        select jsonb_build_object('kind', case when d.kind = 'audit_unavailable' then 'audit_unavailable'
                                               else 'discrepancy' end, 'run_id', d.run_id, 'user_id', d.user_id,
                 'tokenization_id', d.tokenization_id, 'detail', d.detail)
          from app.token_discrepancies d where d.run_id = v_last
        union all
        select jsonb_build_object('kind', case when p.kyc_status <> 'verified' then 'waiting_on_kyc'
                                               else 'waiting_on_wallet' end,
                 'user_id', i.user_id, 'investments', count(*), 'tokens', sum(i.tokens)::text)
          from app.investments i join app.profiles p on p.user_id = i.user_id
         where i.payment_status = 'confirmed' and (p.kyc_status <> 'verified' or p.wallet_address is null)
         group by i.user_id, p.kyc_status
        union all
        select jsonb_build_object('kind', 'amount_mismatch', 'investment_id', i.id, 'user_id', i.user_id)
          from app.investments i where i.payment_status = 'amount_mismatch'
        union all
        select jsonb_build_object('kind', 'investment_failed', 'investment_id', i.id, 'user_id', i.user_id,
                 'hint', 'three transfers failed; fix the cause, then set it back to confirmed')
          from app.investments i where i.payment_status = 'failed'
      ) x), '[]'::jsonb);
end
$$;
comment on function public.admin_token_alerts(interval) is
  'Admin or service: token pipeline alerts: stuck_transfer, failed_transfer (7 days), discrepancy '
  '(latest reconciliation run), audit_unavailable (a tokenization whose chain or contract could not '
  'be read in the latest run), waiting_on_kyc, waiting_on_wallet, amount_mismatch, investment_failed '
  '(three failed transfers: needs a person).';
revoke all on function public.admin_token_alerts(interval) from public;
grant execute on function public.admin_token_alerts(interval) to authenticated, service_role;

-- ==== 15_cron.sql ====

-- One pg_cron job runs every due slot (F5: no per-slot cron patterns to get wrong). pg_cron 1.4
-- (the local stack) accepts minute schedules only; hosted Supabase (pg_cron 1.6) can run it every
-- few seconds: select cron.schedule('ros-execute-due-slots', '10 seconds', ...).
select cron.schedule('ros-execute-due-slots', '* * * * *', 'select public.execute_due_slots()');

-- pg_cron sweeps for the token pipeline, through net.http_post with the URL and key from Vault.
-- The distribution sweep only calls out when something waits (confirmed investments).
select cron.schedule('distribute-tokens-sweep', '* * * * *', $$
  select app.invoke_function('distribute-tokens', '{}'::jsonb)
   where exists (select 1 from app.investments where payment_status = 'confirmed')
$$);

select cron.schedule('reconcile-token-distributions', '*/5 * * * *', $$
  select app.invoke_function('reconcile-token-distributions', '{}'::jsonb)
$$);
