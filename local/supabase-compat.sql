-- What hosted Supabase provides and plain Postgres does not. Applied by the local stack
-- (as superuser) before the migrations; never deployed. Idempotent: safe to run on every start.
-- Definitions follow Supabase's own, so migrations behave the same here and there.
--
-- As on hosted Supabase, the project role `postgres` is not a superuser (the local stack's
-- superuser is supabase_admin): it owns the database and applies the migrations, with the
-- privileges Supabase gives it and no more. Run by a superuser named postgres (plain Postgres),
-- the role statements below change nothing.

-- Roles --------------------------------------------------------------------------------------
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;
grant anon, authenticated, service_role to authenticator;

-- Hosted Supabase's statement timeouts (CONTRACT "Platform limits"): anon 3 s, authenticated 8 s,
-- and the authenticator (whose session service-role API requests run in) 8 s with lock_timeout
-- 8 s. The gateway applies them per request as PostgREST does; every other session has the
-- cluster's default of 2 minutes (local/stack/postgres.ts).
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
-- Local tooling's superuser (benchmark data, test setup) is not bound by the platform's limits.
alter role supabase_admin set statement_timeout = 0;

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres login createrole createdb replication bypassrls;
  end if;
end
$$;
grant anon, authenticated, service_role, authenticator to postgres with admin option;
grant pg_signal_backend, pg_monitor to postgres;
alter database postgres owner to postgres;

-- Extensions hosted Supabase has installed before any migration runs (pg_cron and pgcrypto need
-- a superuser to create); the migrations' `create extension if not exists` then changes nothing.
create extension if not exists pg_cron with schema pg_catalog;
grant usage on schema cron to postgres;
grant all on all tables in schema cron to postgres;
grant all on all sequences in schema cron to postgres;

-- Supabase grants the API roles usage on public and, by default privileges, everything
-- created in it. Reproducing that here means our migrations must revoke explicitly, as they
-- must on hosted Supabase.
-- Only on a new project: on a restart the baseline migration has already revoked them, and
-- granting them again would hand every function a later migration creates to the API roles.
grant usage on schema public to anon, authenticated, service_role;
do $$
begin
  if to_regclass('supabase_migrations.schema_migrations') is null then
    alter default privileges for role postgres in schema public
      grant all on tables to anon, authenticated, service_role;
    alter default privileges for role postgres in schema public
      grant all on functions to anon, authenticated, service_role;
    alter default privileges for role postgres in schema public
      grant all on sequences to anon, authenticated, service_role;
  end if;
end
$$;

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
grant all on schema extensions to postgres;
create extension if not exists pgcrypto with schema extensions;

-- auth -----------------------------------------------------------------------------------------
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key default gen_random_uuid(),
  email text unique,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Supabase Auth's own tables, as much of them as the local sign-in needs (GoTrue owns these on a
-- hosted project; the local gateway's /auth/v1 answers from them): bcrypt password hashes in
-- encrypted_password, TOTP factors, challenges, sessions and rotating refresh tokens.
alter table auth.users add column if not exists encrypted_password text;
alter table auth.users add column if not exists email_confirmed_at timestamptz;
alter table auth.users add column if not exists last_sign_in_at timestamptz;

create table if not exists auth.mfa_factors (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  friendly_name text,
  factor_type text not null default 'totp' check (factor_type = 'totp'),
  status text not null default 'unverified' check (status in ('unverified', 'verified')),
  secret text not null,
  -- The RFC 6238 time step of the last code accepted: a code is good once.
  last_used_step bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists auth.mfa_challenges (
  id uuid primary key default gen_random_uuid(),
  factor_id uuid not null references auth.mfa_factors (id) on delete cascade,
  created_at timestamptz not null default now(),
  verified_at timestamptz
);

create table if not exists auth.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  aal text not null default 'aal1' check (aal in ('aal1', 'aal2')),
  -- How the session was authenticated, oldest first (the JWT's amr claim).
  amr jsonb not null default '[]'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table if not exists auth.refresh_tokens (
  id bigserial primary key,
  token text not null unique,
  session_id uuid not null references auth.sessions (id) on delete cascade,
  revoked boolean not null default false,
  created_at timestamptz not null default now()
);

-- Rate limits as Supabase Auth applies them: a token bucket per (endpoint, client IP), taken in
-- one statement (local/auth/rate-limit.ts). The per-account failure count it replaces let 40
-- concurrent guesses through and let anyone lock an account out.
drop table if exists auth.local_failed_attempts;
create table if not exists auth.local_rate_buckets (
  key text primary key,
  tokens double precision not null,
  updated_at timestamptz not null
);

revoke all on auth.mfa_factors, auth.mfa_challenges, auth.sessions, auth.refresh_tokens,
  auth.local_rate_buckets from anon, authenticated, service_role;
grant all on auth.users, auth.mfa_factors, auth.mfa_challenges, auth.sessions, auth.refresh_tokens,
  auth.local_rate_buckets to postgres;
grant usage on all sequences in schema auth to postgres;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to anon, authenticated, service_role;

-- vault ----------------------------------------------------------------------------------------
-- Supabase encrypts secrets with pgsodium; locally they are stored in clear in a schema no API
-- role can read. Only the interface matters to the migrations.
create schema if not exists vault;
revoke all on schema vault from public;

create table if not exists vault.secrets (
  id uuid primary key default gen_random_uuid(),
  name text unique,
  description text not null default '',
  secret text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create or replace view vault.decrypted_secrets as
  select id, name, description, secret, secret as decrypted_secret, created_at, updated_at
  from vault.secrets;

create or replace function vault.create_secret(
  new_secret text, new_name text default null, new_description text default ''
) returns uuid
language sql
as $$
  insert into vault.secrets (secret, name, description)
  values (new_secret, new_name, coalesce(new_description, ''))
  returning id
$$;

create or replace function vault.update_secret(
  secret_id uuid, new_secret text default null, new_name text default null,
  new_description text default null
) returns void
language sql
as $$
  update vault.secrets
     set secret = coalesce(new_secret, secret), name = coalesce(new_name, name),
         description = coalesce(new_description, description), updated_at = now()
   where id = secret_id
$$;

-- net (pg_net stand-in) ------------------------------------------------------------------------
-- pg_net is not packaged for Debian. Requests are queued in a table; the notification is only
-- delivered when the inserting transaction commits, so the gateway's drainer sends exactly the
-- requests of committed transactions, as pg_net does.
create schema if not exists net;

create table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null default 'POST',
  url text not null,
  headers jsonb not null default '{}'::jsonb,
  body jsonb,
  timeout_milliseconds int not null default 5000,
  attempts int not null default 0,
  state text not null default 'pending' check (state in ('pending', 'delivering', 'done', 'failed')),
  next_attempt_at timestamptz not null default now(),
  created_at timestamptz not null default now()
);

create table if not exists net._http_response (
  id bigint primary key,
  status_code int,
  content text,
  error_msg text,
  created timestamptz not null default now()
);

create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql
as $$
declare
  v_id bigint;
  v_url text := url;
  v_query text;
begin
  if params is not null and params <> '{}'::jsonb then
    select string_agg(key || '=' || value, '&') into v_query from jsonb_each_text(params);
    v_url := v_url || case when position('?' in v_url) > 0 then '&' else '?' end || v_query;
  end if;
  insert into net.http_request_queue (url, headers, body, timeout_milliseconds)
  values (v_url, coalesce(headers, '{}'::jsonb), body, coalesce(timeout_milliseconds, 5000))
  returning id into v_id;
  perform pg_notify('net_http_request', v_id::text);
  return v_id;
end
$$;

grant usage on schema net to service_role, postgres;
grant execute on function net.http_post(text, jsonb, jsonb, jsonb, int) to service_role;

-- What postgres may do with Supabase's own schemas: read and write auth.users (and put its signup
-- trigger on it), use Vault, and drain the net queue (the gateway connects as postgres).
grant usage on schema auth, vault, net to postgres;
grant all on all tables in schema auth, vault, net to postgres;
grant all on all sequences in schema net to postgres;
grant execute on all functions in schema auth, vault, net to postgres;

-- Hosted Supabase resolves unqualified names in public, then extensions (pgTAP, pgcrypto...).
alter database postgres set search_path = "$user", public, extensions;
