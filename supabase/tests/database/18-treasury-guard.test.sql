-- The treasury guard: claim_token_distributions with the treasury's balances claims, oldest first,
-- only what the tokens and the gas left after everything unmined can pay for; the rest stays
-- confirmed, distribution_backlog names the reason, admin_token_alerts shows it until it ends.
-- Also: the run's gas estimate on the transfer row (record_signed_transfers), gap fillers' fees
-- under the cap (released_nonces), treasury_token_addresses, and the errors.
begin;
select plan(29);

select tests.create_user('guard-a@test.io') as a \gset
select tests.create_user('guard-b@test.io') as b \gset
update app.profiles set kyc_status = 'verified', wallet_address = '0x' || repeat('a1', 20) where user_id = :'a';
update app.profiles set kyc_status = 'verified', wallet_address = '0x' || repeat('b2', 20) where user_id = :'b';
update app.investments set payment_status = 'failed', transfer_id = null
 where payment_status in ('confirmed', 'distributing');
\set signer '0x9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c9c'
\set token '0x4444444444444444444444444444444444444444'

select tests.authenticate_as_service();
select public.admin_register_tokenization('GUARD-PROP', :'token', 55555, 10) ->> 'tokenization_id' as tok \gset
select public.admin_set_chain_policy(55555, 10000000000, 1000000000);
select is(public.treasury_token_addresses(55555), jsonb_build_array(:'token'),
  'treasury_token_addresses lists the chain''s token contracts');
select is(public.treasury_token_addresses(424242), '[]'::jsonb, 'and none for a chain without tokens');

-- Two investments of 6 tokens, a's first.
select tests.authenticate_as(:'a');
select public.create_investment(:'tok', 6) ->> 'reference' as ref_a \gset
select tests.authenticate_as(:'b');
select public.create_investment(:'tok', 6) ->> 'reference' as ref_b \gset
-- One transaction has one now(): make b's visibly the later one.
select tests.clear_authentication();
update app.investments set created_at = created_at + interval '1 second' where reference = :'ref_b';
select tests.authenticate_as_service();
select public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'guard-1', 'reference', :'ref_a', 'amount', 6000, 'currency', 'NGN')));
select public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'guard-2', 'reference', :'ref_b', 'amount', 6000, 'currency', 'NGN')));

-- Errors first (nothing claimed by them).
select throws_ok(format($$select public.claim_token_distributions('g', %L, 55555, 0, 50, null, null, 1, 1, 'NaN')$$, :'signer'),
  'PT400', null, 'a NaN native balance is PT400');
select throws_ok(format($$select public.claim_token_distributions('g', %L, 55555, 0, 50, null, null, 1, 1, -1)$$, :'signer'),
  'PT400', null, 'a negative native balance is PT400');
select throws_ok(format($$select public.claim_token_distributions('g', %L, 55555, 0, 50, null, null, 1, 1, 1, '{"0xnope": "1"}')$$, :'signer'),
  'PT400', null, 'a token balance keyed by something else than an address is PT400');
select throws_ok(format($$select public.claim_token_distributions('g', %L, 55555, 0, 50, null, null, 1, 1, 1, %L)$$,
  :'signer', jsonb_build_object(:'token', '1.5')), 'PT400', null, 'a fractional token balance is PT400');
select throws_ok(format($$select public.claim_token_distributions('g', %L, 55555, 0, 50, null, null, 1, 1, 1, '[]')$$, :'signer'),
  'PT400', null, 'token balances that are not an object are PT400');

-- Tokens: 10 held, 6 + 6 asked. Gas: plenty. Fees: base 1 gwei, tip 1 gwei -> 3 gwei x 120,000.
select public.claim_token_distributions('g', :'signer', 55555, 0, 50, null, null, 1000000000, 1000000000,
  1000000000000000000, jsonb_build_object(:'token', '10')) as claim1 \gset
select is(jsonb_array_length(:'claim1'::jsonb), 1, 'only one transfer fits in the treasury''s 10 tokens');
select tests.clear_authentication();
select is(:'claim1'::jsonb -> 0 -> 'investment_ids' ->> 0,
  (select id::text from app.investments where reference = :'ref_a'), 'the oldest one');
select tests.authenticate_as_service();
select is(public.distribution_backlog(55555, p_signer => :'signer'),
  '{"deferred": 1, "deferred_reason": "treasury_tokens"}'::jsonb, 'the other waits for tokens');
select ok(exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) x
                   where x ->> 'kind' = 'treasury_insufficient_tokens' and x -> 'detail' ->> 'token_address' = :'token'),
  'admin_token_alerts shows treasury_insufficient_tokens with the token');
select tests.clear_authentication();
select is((select payment_status from app.investments where reference = :'ref_b'), 'confirmed', 'it stays confirmed');
select tests.authenticate_as_service();

-- The 6 in flight are reserved: 12 on chain (not yet mined) still leave only 6 for b.
select is(jsonb_array_length(public.claim_token_distributions('g', :'signer', 55555, 0, 50, null, null,
  1000000000, 1000000000, 1000000000000000000, jsonb_build_object(:'token', '11'))), 0,
  '11 held minus the 6 unmined leave 5: still short');

-- Gas: enough tokens now, but the native balance minus the unmined transfer's reserve
-- (120,000 x 3 gwei) covers no second transfer.
select is(jsonb_array_length(public.claim_token_distributions('g', :'signer', 55555, 0, 50, null, null,
  1000000000, 1000000000, 360000000000000 + 359999999999999, jsonb_build_object(:'token', '12'))), 0,
  'one wei short of a second transfer''s gas: nothing');
select is(public.distribution_backlog(55555, p_signer => :'signer') ->> 'deferred_reason', 'treasury_gas',
  'the reason is gas now');
select ok(exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) x where x ->> 'kind' = 'treasury_insufficient_gas'),
  'admin_token_alerts shows treasury_insufficient_gas');
select ok(not exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) x where x ->> 'kind' = 'treasury_insufficient_tokens'),
  'and no longer the token shortage');
select is(jsonb_array_length(public.claim_token_distributions('g', :'signer', 55555, 0, 50, null, null,
  1000000000, 1000000000, 720000000000000, jsonb_build_object(:'token', '12'))), 1,
  'exactly enough gas: the second transfer');
select is(public.distribution_backlog(55555, p_signer => :'signer'), '{"deferred": 0, "deferred_reason": null}'::jsonb,
  'nothing waits');
select ok(not exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) x where x ->> 'kind' like 'treasury_%'),
  'the treasury alerts are gone');

-- Without balances (an older caller): no guard, as before.
select is(public.claim_token_distributions('g', :'signer', 55555, 0, 50), '[]'::jsonb, 'nothing left to claim');

-- The run's gas estimate replaces the planned ceiling on the row; never above it.
select (:'claim1'::jsonb -> 0 ->> 'transfer_id') as t1 \gset
select throws_ok(format($$select public.record_signed_transfers(jsonb_build_array(jsonb_build_object(
  'transfer_id', %L, 'tx_hash', '0x%s', 'raw_tx', '0x02', 'gas_limit', 120001)))$$, :'t1', repeat('1', 64)),
  'PT400', null, 'a gas limit above the planned ceiling is PT400');
select throws_ok(format($$select public.record_signed_transfers(jsonb_build_array(jsonb_build_object(
  'transfer_id', %L, 'tx_hash', '0x%s', 'raw_tx', '0x02', 'gas_limit', 'lots')))$$, :'t1', repeat('1', 64)),
  'PT400', null, 'a gas limit that is not a number is PT400');
select public.record_signed_transfers(jsonb_build_array(jsonb_build_object(
  'transfer_id', :'t1', 'tx_hash', '0x' || repeat('1', 64), 'raw_tx', '0x02', 'gas_limit', 64000)));
select tests.clear_authentication();
select is((select gas_limit from app.token_transfers where id = :'t1'), 64000::bigint,
  'the row keeps the gas limit the bytes were signed with');
select tests.authenticate_as_service();

-- Gap fillers are signed under the cap too.
select is(public.released_nonces(55555, :'signer', 2000000000, 500000000) ->> 'max_fee_per_gas', '4500000000',
  'released_nonces gives a filler''s fees from the chain''s quote (2 x 2 + 0.5 gwei)');
select is(public.released_nonces(55555, :'signer', 20000000000, 500000000) ->> 'max_fee_per_gas', null,
  'and none above the cap: no filler is signed then');
select throws_ok(format($$select public.released_nonces(55555, %L, -1)$$, :'signer'), 'PT400', null,
  'a negative base fee is PT400');
select is((public.released_nonces(55555, :'signer', null, null, 0) ->> 'chain_next_is_gap')::boolean, false,
  'the chain''s next nonce held by a transfer is no gap');
select public.fail_token_transfer(:'t1', 'taken away', true);
select is((public.released_nonces(55555, :'signer', null, null, 0) ->> 'chain_next_is_gap')::boolean, true,
  'held by nothing, with a live transfer above it: a gap to fill');

select * from finish();
rollback;
