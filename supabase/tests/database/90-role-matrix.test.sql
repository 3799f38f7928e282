-- Every RPC against every caller: anon, a user, another user, admin without MFA, admin with MFA,
-- the service. Calls use arguments that would fail validation later, so an allowed caller gets past
-- the gate (any error other than 42501), and a refused one gets 42501.
begin;
select plan(272);

select tests.create_user('matrix-u1@test.io') as u1 \gset
select tests.create_user('matrix-u2@test.io') as u2 \gset
select tests.create_user('matrix-admin@test.io', true) as adm \gset

create temp table calls (fn text, call text, allowed text[]) on commit drop;
grant select on calls to anon, authenticated, service_role;
insert into calls values
  -- service only
  ('credit_funded_wallet', $$select public.credit_funded_wallet(gen_random_uuid(), 0, '')$$, '{service}'),
  ('record_paystack_event', $$select public.record_paystack_event('{}')$$, '{service}'),
  ('claim_token_distributions', $$select public.claim_token_distributions('w', 'bad', 0, -1)$$, '{service}'),
  ('record_signed_transfer', $$select public.record_signed_transfer(gen_random_uuid(), 'x', 'x')$$, '{service}'),
  ('record_signed_transfers', $$select public.record_signed_transfers('{}')$$, '{service}'),
  ('mark_transfers_broadcast', $$select public.mark_transfers_broadcast('{}'::uuid[])$$, '{service}'),
  ('confirm_token_transfer', $$select public.confirm_token_transfer(gen_random_uuid(), 'x', 1)$$, '{service}'),
  ('confirm_token_transfers', $$select public.confirm_token_transfers('{}')$$, '{service}'),
  ('fail_token_transfer', $$select public.fail_token_transfer(gen_random_uuid(), 'x', null)$$, '{service}'),
  ('transfers_to_reconcile', $$select public.transfers_to_reconcile()$$, '{service}'),
  ('record_transfer_attempt', $$select public.record_transfer_attempt(gen_random_uuid(), 'x', 'x', 1, 1)$$, '{service}'),
  ('consume_released_nonce', $$select public.consume_released_nonce(1, 'x', 1)$$, '{service}'),
  ('released_nonces', $$select public.released_nonces(1, 'x')$$, '{service}'),
  ('treasury_token_addresses', $$select public.treasury_token_addresses(1)$$, '{service}'),
  ('distribution_backlog', $$select public.distribution_backlog(1)$$, '{service}'),
  ('token_audit_targets', $$select public.token_audit_targets()$$, '{service}'),
  ('record_reconciliation_run', $$select public.record_reconciliation_run('{}', '[]')$$, '{service}'),
  ('execute_due_slots', $$select public.execute_due_slots('1999-01-01')$$, '{service}'),
  ('register_treasury_address', $$select public.register_treasury_address('bad')$$, '{service}'),
  ('record_token_readability', $$select public.record_token_readability(1, null)$$, '{service}'),
  ('transfers_to_resend', $$select public.transfers_to_resend()$$, '{service}'),
  ('mark_transfers_resent', $$select public.mark_transfers_resent('{}')$$, '{service}'),
  ('paystack_payments_to_verify', $$select * from public.paystack_payments_to_verify(null, 0)$$, '{service}'),
  ('record_paystack_verification', $$select public.record_paystack_verification('x', null)$$, '{service}'),
  -- admin mutations (aal2) and the service
  ('admin_set_kyc_status', $$select public.admin_set_kyc_status(gen_random_uuid(), 'nope')$$, '{admin2,service}'),
  ('admin_queue_distribution', $$select public.admin_queue_distribution('2031-01-01', '[]')$$, '{admin2,service}'),
  ('admin_add_slots', $$select public.admin_add_slots('1999-01-01', '[]')$$, '{admin2,service}'),
  ('admin_update_slot', $$select public.admin_update_slot('1999-01-01', 1, 1)$$, '{admin2,service}'),
  ('admin_cancel_slot', $$select public.admin_cancel_slot('1999-01-01', 1)$$, '{admin2,service}'),
  ('admin_retry_slot', $$select public.admin_retry_slot('1999-01-01', 1)$$, '{admin2,service}'),
  ('admin_register_tokenization', $$select public.admin_register_tokenization('', '', 0, 0)$$, '{admin2,service}'),
  ('admin_dismiss_paystack_event', $$select public.admin_dismiss_paystack_event(-1)$$, '{admin2,service}'),
  ('admin_set_alert_channel', $$select public.admin_set_alert_channel('', 'x', 'x')$$, '{admin2,service}'),
  ('admin_acknowledge_alert', $$select public.admin_acknowledge_alert(-1)$$, '{admin2,service}'),
  ('admin_resend_transfer', $$select public.admin_resend_transfer(gen_random_uuid())$$, '{admin2,service}'),
  -- admin reads (any aal) and the service
  ('admin_distribution_status', $$select public.admin_distribution_status('1999-01-01')$$, '{admin1,admin2,service}'),
  ('admin_distribution_history', $$select public.admin_distribution_history('2000-01-02', '2000-01-01')$$, '{admin1,admin2,service}'),
  ('admin_ros_alerts', $$select public.admin_ros_alerts('1999-01-01')$$, '{admin1,admin2,service}'),
  ('token_distribution_report', $$select public.token_distribution_report(gen_random_uuid())$$, '{admin1,admin2,service}'),
  ('queue_distribution_run', $$select public.queue_distribution_run()$$, '{service}'),
  ('token_distribution_report (paged)', $$select public.token_distribution_report(gen_random_uuid(), 10, null)$$, '{admin1,admin2,service}'),
  ('token_audit_targets (a page after a key)', $$select public.token_audit_targets(10, '{"user_id":"00000000-0000-0000-0000-000000000000","tokenization_id":"00000000-0000-0000-0000-000000000000"}')$$, '{service}'),
  ('record_reconciliation_run (with a range)', $$select public.record_reconciliation_run('{}', '[]', '{"through":null,"pass_complete":false}')$$, '{service}'),
  ('admin_token_alerts', $$select public.admin_token_alerts()$$, '{admin1,admin2,service}'),
  ('admin_audit_log', $$select public.admin_audit_log()$$, '{admin1,admin2,service}'),
  ('admin_paystack_event', $$select public.admin_paystack_event(-1)$$, '{admin1,admin2,service}'),
  ('admin_alert_log', $$select public.admin_alert_log(0)$$, '{admin1,admin2,service}'),
  ('admin_alert_channels', $$select public.admin_alert_channels()$$, '{admin1,admin2,service}'),
  ('admin_overview', $$select public.admin_overview()$$, '{admin1,admin2,service}'),
  ('admin_tokenizations', $$select public.admin_tokenizations()$$, '{admin1,admin2,service}'),
  ('admin_investors', $$select public.admin_investors(array[]::uuid[])$$, '{admin1,admin2,service}'),
  ('admin_distribution_report_page', $$select public.admin_distribution_report_page(gen_random_uuid(), 0)$$, '{admin1,admin2,service}');

-- Runs `call` as `who` and reports whether the gate let it through.
create function pg_temp.gate(p_call text, p_who text, p_u1 uuid, p_adm uuid) returns text
language plpgsql as $$
begin
  case p_who
    when 'anon' then perform tests.authenticate_as_anon();
    when 'user' then perform tests.authenticate_as(p_u1);
    when 'admin1' then perform tests.authenticate_as(p_adm, 'aal1');
    when 'admin2' then perform tests.authenticate_as(p_adm, 'aal2');
    when 'service' then perform tests.authenticate_as_service();
  end case;
  begin
    execute p_call;
    perform tests.clear_authentication();
    return 'passed';
  exception
    when insufficient_privilege then
      perform tests.clear_authentication();
      return 'denied';
    when others then
      perform tests.clear_authentication();
      return 'passed';
  end;
end $$;

select is(pg_temp.gate(c.call, w.who, :'u1', :'adm'),
          case when w.who = any (c.allowed) then 'passed' else 'denied' end,
          format('%s as %s: %s', c.fn, w.who, case when w.who = any (c.allowed) then 'allowed' else '42501' end))
  from calls c
  cross join (values ('anon'), ('user'), ('admin1'), ('admin2'), ('service')) w(who)
 order by c.fn, w.who;

-- User-facing RPCs: authenticated callers act on their own data only; anon and the service are refused.
select tests.authenticate_as(:'u2');
select is((select count(*) from public.my_wallets), 3::bigint, 'another user sees only their own three wallets');
select tests.authenticate_as_service();
select throws_ok($$select public.set_my_wallet_address('0x1234567890123456789012345678901234567890')$$, '42501', null, 'set_my_wallet_address: the service has no user');
select throws_ok($$select public.create_investment(gen_random_uuid(), 1)$$, '42501', null, 'create_investment: the service has no user');
select throws_ok($$select public.my_today_profit()$$, '42501', null, 'my_today_profit: the service has no user');
select tests.authenticate_as_anon();
select throws_ok($$select * from public.my_investments$$, '42501', null, 'anon cannot read my_investments');
select throws_ok($$select * from public.my_token_holdings$$, '42501', null, 'anon cannot read my_token_holdings');
select throws_ok($$select * from public.my_transactions$$, '42501', null, 'anon cannot read my_transactions');
select throws_ok($$select * from public.my_stakes$$, '42501', null, 'anon cannot read my_stakes');
select tests.clear_authentication();

-- No function in public is executable by PUBLIC, and every one has a comment.
select is((select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'public' and has_function_privilege('public', p.oid, 'execute')
              and p.proname not like 'zz_%')::int, 0, 'no public RPC is executable by PUBLIC');
select is((select string_agg(p.proname, ', ') from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'public' and p.prokind = 'f' and obj_description(p.oid, 'pg_proc') is null
              and p.proname not like 'zz_%'), null, 'every public RPC has a comment');
select is((select string_agg(p.proname, ', ') from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'public' and p.prosecdef
              and not coalesce(p.proconfig @> array['search_path=""'], false)), null,
          'every security definer RPC pins search_path to empty');
select is((select string_agg(c.relname, ', ') from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname in ('public', 'app') and c.relkind = 'r' and not c.relrowsecurity), null,
          'every table has row level security');

select * from finish();
rollback;
