-- pg_cron sweeps for the token pipeline, through net.http_post with the URL and key from Vault.
-- The distribution sweep only calls out when something waits (confirmed investments).
select cron.schedule('distribute-tokens-sweep', '* * * * *', $$
  select app.invoke_function('distribute-tokens', '{}'::jsonb)
   where exists (select 1 from app.investments where payment_status = 'confirmed')
$$);
select cron.schedule('reconcile-token-distributions', '*/5 * * * *', $$
  select app.invoke_function('reconcile-token-distributions', '{}'::jsonb)
$$);
