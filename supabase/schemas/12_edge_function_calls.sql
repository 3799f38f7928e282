-- Calling an edge function from the database: the one pg_net caller (cron sweeps, the queued
-- distribution run). Hosted pg_net sends a request once; a lost call is picked up by the next sweep.

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
