-- Chain policies and fees: admin_set_chain_policy (values, errors, roles, audit), fees from the
-- chain under the cap at claim time, nothing claimed above the cap (deferred, fee_cap_exceeded),
-- and no replacement above the cap.
begin;
select plan(29);

select tests.create_user('fee@test.io') as u \gset
select tests.create_user('fee-admin@test.io', true) as adm \gset
update app.profiles set kyc_status = 'verified', wallet_address = '0x7777777777777777777777777777777777777777'
 where user_id = :'u';
update app.investments set payment_status = 'failed', transfer_id = null
 where payment_status in ('confirmed', 'distributing');
\set signer '0x8888888888888888888888888888888888888888'

-- admin_set_chain_policy ---------------------------------------------------------------------------
select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_set_chain_policy(77777, 50000000000, 2000000000, 3),
  '{"chain_id": 77777, "max_fee_per_gas": "50000000000", "max_priority_fee_per_gas": "2000000000", "min_confirmations": 3}'::jsonb,
  'an admin with MFA sets a policy; wei come back as decimal strings');
select is(public.admin_set_chain_policy(77777, p_min_confirmations => 5) ->> 'max_fee_per_gas', '50000000000',
  'null keeps the current value');
select is((public.admin_set_chain_policy(77777) ->> 'min_confirmations')::int, 5, 'and the value set');
select is(public.admin_set_chain_policy(66666) ->> 'max_fee_per_gas', '20000000000',
  'a new chain starts from the documented default cap (20 gwei)');
select throws_ok($$select public.admin_set_chain_policy(77777, -1)$$, 'PT400', null, 'a negative fee is PT400');
select throws_ok($$select public.admin_set_chain_policy(77777, 1.5)$$, 'PT400', null, 'a fractional fee is PT400');
select throws_ok($$select public.admin_set_chain_policy(77777, 'NaN')$$, 'PT400', null, 'NaN is PT400');
select throws_ok($$select public.admin_set_chain_policy(77777, p_max_priority_fee_per_gas => -5)$$, 'PT400', null, 'a negative tip is PT400');
select throws_ok($$select public.admin_set_chain_policy(77777, 100, 200)$$, 'PT400', null, 'a tip above the fee cap is PT400');
select throws_ok($$select public.admin_set_chain_policy(77777, p_min_confirmations => 0)$$, 'PT400', null, 'zero confirmations is PT400');
select throws_ok($$select public.admin_set_chain_policy(0)$$, 'PT400', null, 'chain 0 is PT400');
select tests.authenticate_as(:'adm', 'aal1');
select throws_ok($$select public.admin_set_chain_policy(77777, 1)$$, '42501', null, 'admin aal1 cannot set a policy');
select tests.authenticate_as(:'u');
select throws_ok($$select public.admin_set_chain_policy(77777, 1)$$, '42501', null, 'an investor cannot');
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_set_chain_policy(77777, 1)$$, '42501', null, 'anon cannot');
select tests.authenticate_as_service();
select is(public.admin_set_chain_policy(77777, 40000000000, 2000000000, 2) ->> 'max_fee_per_gas', '40000000000', 'the service can');
select tests.clear_authentication();
select is((select count(*)::int from app.admin_audit where action = 'set_chain_policy' and target ->> 'chain_id' = '77777'), 4,
  'each change wrote an audit row');

-- Fees at claim time ---------------------------------------------------------------------------------
select tests.authenticate_as_service();
select public.admin_register_tokenization('FEE-PROP', '0x9999999999999999999999999999999999999999', 77777, 10) ->> 'tokenization_id' as tok \gset
select tests.authenticate_as(:'u');
select public.create_investment(:'tok', 2) ->> 'reference' as ref \gset
select tests.authenticate_as_service();
select public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'fee-1', 'reference', :'ref', 'amount', 2000, 'currency', 'NGN')));

-- The cap is 40 gwei with a 2 gwei tip cap: a 45 gwei base fee does not fit, 15 gwei does.
select is(public.claim_token_distributions('fee-w', :'signer', 77777, 0, 50, null, null, 45000000000, 3000000000), '[]'::jsonb,
  'the chain asks more than the cap: nothing is claimed');
select tests.clear_authentication();
select is((select payment_status from app.investments where reference = :'ref'), 'confirmed', 'the investment stays confirmed');
select tests.authenticate_as_service();
select is(public.distribution_backlog(77777), '{"deferred": 1, "deferred_reason": "fee_cap"}'::jsonb,
  'the backlog says one investment waits for fees');
select ok(exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) a
                   where a ->> 'kind' = 'fee_cap_exceeded' and a ->> 'chain_id' = '77777'),
  'admin_token_alerts shows fee_cap_exceeded');
select public.claim_token_distributions('fee-w', :'signer', 77777, 0, 50, null, null, 15000000000, 3000000000) -> 0 as plan \gset
select is((:'plan'::jsonb) ->> 'max_priority_fee_per_gas', '2000000000', 'fees fall: the tip is the chain''s, at most the tip cap');
select is((:'plan'::jsonb) ->> 'max_fee_per_gas', '32000000000', 'the fee leaves room for the base fee to double (2 x 15 + 2 gwei)');
select is(public.distribution_backlog(77777), '{"deferred": 0, "deferred_reason": null}'::jsonb, 'nothing waits any more');
select ok(not exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) a where a ->> 'kind' = 'fee_cap_exceeded'),
  'and the alert is gone');
select tests.clear_authentication();
select is((select max_fee_per_gas::text from app.token_transfers where id = ((:'plan'::jsonb) ->> 'transfer_id')::uuid),
  '32000000000', 'the transfer row keeps the fees it is signed with');
select tests.authenticate_as_service();
select throws_ok($$select public.claim_token_distributions('fee-w', '$$ || :'signer' || $$', 77777, 0, 50, null, null, -1, 0)$$,
  'PT400', null, 'a negative base fee is PT400');

-- Replacements never above the cap --------------------------------------------------------------
select public.record_signed_transfers(jsonb_build_array(jsonb_build_object('transfer_id', (:'plan'::jsonb) ->> 'transfer_id',
  'tx_hash', '0x' || repeat('c', 64), 'raw_tx', '0x02')));
select throws_ok(format($$select public.record_transfer_attempt(%L, '0x%s', '0x03', 41000000000, 2000000000)$$,
  (:'plan'::jsonb) ->> 'transfer_id', repeat('d', 64)), 'PT409', null, 'a replacement above the fee cap is PT409');
select is(public.record_transfer_attempt(((:'plan'::jsonb) ->> 'transfer_id')::uuid, '0x' || repeat('e', 64), '0x04',
  40000000000, 2000000000) ->> 'tx_hash', '0x' || repeat('e', 64), 'a replacement at the cap is recorded');
select tests.clear_authentication();
select is((select max(max_fee_per_gas)::text from app.transfer_attempts where transfer_id = ((:'plan'::jsonb) ->> 'transfer_id')::uuid),
  '40000000000', 'no attempt is stored above the cap');

select * from finish();
rollback;
