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

-- p_count investors, each with 1,000 in the funded wallet and one stake of p_base + i × p_step
-- (i from 1), created through the RPCs; returns (n, user_id, stake_id) in order.
create or replace function tests.create_stakers(p_tag text, p_count int, p_base numeric, p_step numeric default 0)
returns table (n int, user_id uuid, stake_id uuid)
language plpgsql
as $$
declare
  v_user uuid;
begin
  for i in 1..p_count loop
    v_user := tests.create_user(p_tag || i || '@' || p_tag || '.io');
    perform tests.authenticate_as_service();
    perform public.credit_funded_wallet(v_user, 1000, p_tag || '-f' || i);
    perform tests.authenticate_as(v_user);
    n := i;
    user_id := v_user;
    stake_id := (public.create_stake(p_base + i * p_step) ->> 'stake_id')::uuid;
    return next;
  end loop;
  perform tests.clear_authentication();
end
$$;

-- Paystack's published shapes (tests/fixtures/paystack/*.json, the same files the Deno tests,
-- the chaos harness and the webhook benchmark use), read from the repository root.
\set paystack_fixtures `node -e "const fs = require('fs'), d = 'tests/fixtures/paystack/', o = {}; for (const f of fs.readdirSync(d)) if (f.endsWith('.json')) o[f.slice(0, -5)] = JSON.parse(fs.readFileSync(d + f, 'utf8')); process.stdout.write(JSON.stringify(o))"`
create table if not exists tests.paystack_fixtures (name text primary key, body jsonb not null);
delete from tests.paystack_fixtures;
insert into tests.paystack_fixtures select key, value from jsonb_each(:'paystack_fixtures'::jsonb);
grant select on tests.paystack_fixtures to anon, authenticated, service_role, postgres;

-- One Paystack event in its published shape with some values of data changed: p_set maps a path
-- inside data ('reference', 'transaction.reference') to its new value. Never adds a field the
-- shape lacks (a path that is not in it is an error), except where p_add says so.
create or replace function tests.paystack_event(p_shape text, p_set jsonb default '{}',
  p_add boolean default false)
returns jsonb
language plpgsql
stable
as $$
declare
  v jsonb := (select f.body from tests.paystack_fixtures f where f.name = p_shape);
  v_key text;
  v_value jsonb;
  v_path text[];
begin
  if v is null then
    raise exception 'no Paystack fixture %', p_shape;
  end if;
  for v_key, v_value in select * from jsonb_each(p_set) loop
    v_path := ('{data,' || replace(v_key, '.', ',') || '}')::text[];
    if not p_add and not coalesce((v #> v_path[1:array_length(v_path, 1) - 1]) ? v_path[array_length(v_path, 1)], false) then
      raise exception 'the % shape has no field %', p_shape, v_key;
    end if;
    v := jsonb_set(v, v_path, v_value, true);
  end loop;
  return v;
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
