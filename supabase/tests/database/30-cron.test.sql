-- The pg_cron jobs of the migrations and what their commands do.
begin;
select plan(9);

select is((select schedule from cron.job where jobname = 'ros-execute-due-slots'), '* * * * *', 'ROS executor every minute');
select is((select command from cron.job where jobname = 'ros-execute-due-slots'), 'select public.execute_due_slots()', 'it runs execute_due_slots()');
select is((select schedule from cron.job where jobname = 'distribute-tokens-sweep'), '* * * * *', 'distribution sweep every minute');
select is((select schedule from cron.job where jobname = 'reconcile-token-distributions'), '*/5 * * * *', 'reconciler every 5 minutes');

-- The sweep calls the function only when something waits.
update app.investments set payment_status = 'failed', transfer_id = null where payment_status in ('confirmed', 'distributing');
select count(*) as before from net.http_request_queue \gset
do $$ begin execute (select command from cron.job where jobname = 'distribute-tokens-sweep'); end $$;
select is((select count(*) from net.http_request_queue), :before::bigint, 'nothing confirmed: no call');

select tests.create_user('cron@test.io') as u \gset
insert into app.tokenizations (property_id, token_address, chain_id, price_per_token)
values ('CRON-PROP', '0x6666666666666666666666666666666666666666', 77, 1) returning id as tok \gset
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference, payment_status)
values (:'u', :'tok', 1, 1, 100, 'NGN', 'CRON-REF', 'confirmed');
do $$ begin execute (select command from cron.job where jobname = 'distribute-tokens-sweep'); end $$;
select is((select count(*) from net.http_request_queue), :before::bigint + 1, 'something confirmed: one call queued');
select matches((select url from net.http_request_queue order by id desc limit 1), '/functions/v1/distribute-tokens$', 'to the distribute-tokens function');
select matches((select headers ->> 'Authorization' from net.http_request_queue order by id desc limit 1), '^Bearer ', 'with the service key from Vault');
do $$ begin execute (select command from cron.job where jobname = 'reconcile-token-distributions'); end $$;
select matches((select url from net.http_request_queue order by id desc limit 1), '/functions/v1/reconcile-token-distributions$', 'the reconciler job calls its function');

select * from finish();
rollback;
