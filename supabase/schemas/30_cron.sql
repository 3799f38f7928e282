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

-- Missed webhooks: Paystack is asked about investments still pending (24_paystack_verification.sql).
-- Only when some pending investment is old enough to be asked about.
select cron.schedule('verify-pending-payments', '*/2 * * * *', $$
  select app.invoke_function('verify-pending-payments', '{}'::jsonb)
   where exists (select 1 from app.investments
                  where payment_status = 'pending'
                    and created_at <= now() - app.setting('paystack_verify_after')::interval)
$$);

-- Operator alerts (28_operator_alerts.sql): every minute, new alerts, reminders and resolutions to
-- the configured channels through pg_net.
select cron.schedule('deliver-alerts', '* * * * *', 'select app.deliver_alerts()');
