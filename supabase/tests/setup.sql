-- Test-only helpers, applied by `npm test` before pg_prove. Never deployed.
create extension if not exists pgtap with schema extensions;
-- The global deny-by-default of the baseline migration also covers pgTAP: tests assert while
-- acting as the API roles.
grant execute on all functions in schema extensions to anon, authenticated, service_role, postgres;

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;
-- Tests run as postgres (not a superuser) and add their own fault-injection functions here.
grant usage, create on schema tests to postgres;

-- Creates a user through auth.users (the signup trigger gives the profile and wallets).
create or replace function tests.create_user(p_email text, p_admin boolean default false)
returns uuid
language sql
security definer
as $$
  insert into auth.users (email, raw_app_meta_data)
  values (p_email, case when p_admin then '{"role":"admin"}'::jsonb else '{}'::jsonb end)
  returning id
$$;

-- Switch who we are for the rest of the transaction, exactly as the gateway does it.
create or replace function tests.authenticate_as(p_user uuid, p_aal text default 'aal1')
returns void
language plpgsql
as $$
declare
  v_app jsonb;
begin
  perform set_config('role', 'none', true);
  select raw_app_meta_data into v_app from auth.users where id = p_user;
  perform set_config('request.jwt.claims', jsonb_build_object(
    'sub', p_user, 'role', 'authenticated', 'aal', p_aal,
    'app_metadata', coalesce(v_app, '{}'::jsonb))::text, true);
  perform set_config('role', 'authenticated', true);
end
$$;

create or replace function tests.authenticate_as_service()
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '{"role":"service_role"}', true);
  perform set_config('role', 'service_role', true);
end
$$;

create or replace function tests.authenticate_as_anon()
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '{"role":"anon"}', true);
  perform set_config('role', 'anon', true);
end
$$;

create or replace function tests.clear_authentication()
returns void
language plpgsql
as $$
begin
  perform set_config('role', 'none', true);
  perform set_config('request.jwt.claims', '', true);
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
