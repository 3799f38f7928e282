-- Baseline: extensions, deny-by-default privileges, the private schema and health().

create extension if not exists pg_cron;
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
