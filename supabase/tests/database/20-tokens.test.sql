-- Payments and token distribution RPCs: happy paths, errors, roles, and F6/F7/F8/F9 at the SQL level.
begin;
select plan(103);

select tests.create_user('inv1@test.io') as u1 \gset
select tests.create_user('inv2@test.io') as u2 \gset
select tests.create_user('admin@test.io', true) as adm \gset
-- Isolate from any earlier data (a dev database): nothing else is claimable here.
update app.investments set payment_status = 'failed', transfer_id = null where payment_status in ('confirmed', 'distributing');
\set signer '0x1111111111111111111111111111111111111111'
\set h1 '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
\set h2 '0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'

-- admin_register_tokenization ----------------------------------------------------------------------
select tests.authenticate_as(:'adm', 'aal2');
select public.admin_register_tokenization('TEST-PROP-1', '0x2222222222222222222222222222222222222222', 99999, 250.50) ->> 'tokenization_id' as tok \gset
select isnt(:'tok'::text, null::text, 'admin aal2 registers a tokenization');
select is(public.admin_register_tokenization('TEST-PROP-1', '0x2222222222222222222222222222222222222222', 99999, 250.50) ->> 'tokenization_id', :'tok', 're-registering the same token returns the same id');
select throws_ok($$select public.admin_register_tokenization('TEST-PROP-2', '0x2222222222222222222222222222222222222222', 99999, 1)$$, 'PT409', null, 'the same token for another property is PT409');
select throws_ok($$select public.admin_register_tokenization('TEST-PROP-3', '0x22', 99999, 1)$$, 'PT400', null, 'a bad token address is PT400');
select throws_ok($$select public.admin_register_tokenization('TEST-PROP-3', '0x3333333333333333333333333333333333333333', 99999, 0)$$, 'PT400', null, 'a zero price is PT400');
select tests.authenticate_as(:'adm', 'aal1');
select throws_ok($$select public.admin_register_tokenization('TEST-PROP-3', '0x3333333333333333333333333333333333333333', 99999, 1)$$, '42501', null, 'admin aal1 cannot register');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.admin_register_tokenization('TEST-PROP-3', '0x3333333333333333333333333333333333333333', 99999, 1)$$, '42501', null, 'a user cannot register');
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_register_tokenization('TEST-PROP-3', '0x3333333333333333333333333333333333333333', 99999, 1)$$, '42501', null, 'anon cannot register');
select tests.authenticate_as_service();
select isnt(public.admin_register_tokenization('TEST-PROP-3', '0x3333333333333333333333333333333333333333', 99999, 1) ->> 'tokenization_id', null, 'the service registers');

-- create_investment ------------------------------------------------------------------------------
select tests.authenticate_as(:'u1');
select public.create_investment(:'tok', 4) as i1 \gset
select is((:'i1'::jsonb) ->> 'amount', '1002.00', '4 tokens at 250.50 cost 1002.00');
select is(((:'i1'::jsonb) ->> 'amount_subunit')::bigint, 100200::bigint, 'amount_subunit is kobo');
select ok((:'i1'::jsonb) ?& array['investment_id','reference','tokens','amount','amount_subunit','currency'], 'every contract key');
select throws_ok($$select public.create_investment('$$ || :'tok' || $$', 0)$$, 'PT400', null, '0 tokens is PT400');
select throws_ok($$select public.create_investment('$$ || :'tok' || $$', 1.5)$$, 'PT400', null, 'fractional tokens are PT400');
select throws_ok($$select public.create_investment(gen_random_uuid(), 1)$$, 'PT404', null, 'an unknown tokenization is PT404');
select tests.authenticate_as_anon();
select throws_ok($$select public.create_investment('$$ || :'tok' || $$', 1)$$, '42501', null, 'anon cannot invest');
select tests.authenticate_as(:'u1');
select public.create_investment(:'tok', 6) as i2 \gset
select tests.authenticate_as(:'u2');
select public.create_investment(:'tok', 10) as i3 \gset
select is((select count(*) from public.my_investments), 1::bigint, 'my_investments shows only my own');

-- record_paystack_event --------------------------------------------------------------------------
select tests.authenticate_as_service();
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9001, 'reference', (:'i1'::jsonb) ->> 'reference', 'amount', 100200, 'currency', 'NGN'))) ->> 'outcome',
  'investment_confirmed', 'a matching charge.success confirms');
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9001, 'reference', (:'i1'::jsonb) ->> 'reference', 'amount', 100200, 'currency', 'NGN'))) ->> 'outcome',
  'duplicate', 'the same event again is a duplicate');
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9002, 'reference', (:'i1'::jsonb) ->> 'reference', 'amount', 100200, 'currency', 'NGN'))) ->> 'outcome',
  'duplicate', 'another event for an already confirmed reference changes nothing');
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9003, 'reference', (:'i2'::jsonb) ->> 'reference', 'amount', 100, 'currency', 'NGN'))) ->> 'outcome',
  'amount_mismatch', 'an underpayment is amount_mismatch');
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9004, 'reference', 'INV-NOPE', 'amount', 100, 'currency', 'NGN'))) ->> 'outcome',
  'unknown_reference', 'an unknown reference is reported');
select is(public.record_paystack_event(jsonb_build_object('event', 'transfer.success', 'data',
  jsonb_build_object('id', 9005))) ->> 'outcome', 'ignored', 'other events are stored and ignored');
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9006, 'reference', (:'i3'::jsonb) ->> 'reference', 'amount', 250500, 'currency', 'USD'))) ->> 'outcome',
  'amount_mismatch', 'a wrong currency is amount_mismatch');
select is(public.record_paystack_event('{"event":"charge.success","data":{}}') ->> 'outcome', 'unprocessable', 'an event without a reference is stored as unprocessable, never refused');
select tests.clear_authentication();
select is((select payment_status from app.investments where id = ((:'i1'::jsonb) ->> 'investment_id')::uuid), 'confirmed', 'i1 is confirmed');
select is((select payment_status from app.investments where id = ((:'i2'::jsonb) ->> 'investment_id')::uuid), 'amount_mismatch', 'i2 is amount_mismatch');
select is((select count(*) from app.paystack_events where event_id like '900%'), 6::bigint, 'every distinct event is stored once');
select is((select count(*)::int from net.http_request_queue where url like '%/functions/v1/distribute-tokens'), 1,
  'a confirmation queues one distribution run, and no second while it waits to be sent');
-- queue_distribution_run (a run stopped at its budget): debounced like the payment events.
select tests.authenticate_as_service();
select is(public.queue_distribution_run(), false, 'one waits already: no second run is queued');
select tests.clear_authentication();
update app.settings set value = 'off' where key = 'auto_distribute';
select tests.authenticate_as_service();
select is(public.queue_distribution_run(), false, 'auto_distribute off: none');
select tests.clear_authentication();
update app.settings set value = 'on' where key = 'auto_distribute';
select tests.authenticate_as(:'u1');
select throws_ok($$select public.queue_distribution_run()$$, '42501', null, 'a user cannot queue runs');
select tests.clear_authentication();
select tests.authenticate_as(:'u1');
select throws_ok($$select public.record_paystack_event('{"event":"charge.success","data":{"id":1}}')$$, '42501', null, 'a user cannot record events');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.record_paystack_event('{"event":"charge.success","data":{"id":1}}')$$, '42501', null, 'an admin cannot record events');
select tests.authenticate_as_anon();
select throws_ok($$select public.record_paystack_event('{"event":"charge.success","data":{"id":1}}')$$, '42501', null, 'anon cannot record events');

-- claim_token_distributions ----------------------------------------------------------------------
-- u1 has a confirmed investment but no KYC and no wallet: nothing is claimable.
select tests.authenticate_as_service();
select is(public.claim_token_distributions('w1', :'signer', 99999, 0), '[]'::jsonb, 'unverified investors without a wallet are not claimed');
select from public.admin_set_kyc_status(:'u1', 'verified');
select is(public.claim_token_distributions('w1', :'signer', 99999, 0), '[]'::jsonb, 'verified but without a wallet: still not claimed');
select tests.authenticate_as(:'u1');
select from public.set_my_wallet_address('0x4444444444444444444444444444444444444444');
select public.create_investment(:'tok', 6) as i4 \gset
select tests.authenticate_as_service();
select public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9010, 'reference', (:'i4'::jsonb) ->> 'reference', 'amount', 150300, 'currency', 'NGN')));
select public.claim_token_distributions('w1', :'signer', 99999, 7) as c1 \gset
select is(jsonb_array_length(:'c1'::jsonb), 1, 'two investments of one investor in one token make one transfer');
select is((:'c1'::jsonb) #>> '{0,amount}', '10', 'the transfer carries the sum of the tokens');
select is(((:'c1'::jsonb) #>> '{0,nonce}')::bigint, 7::bigint, 'the first nonce is the chain''s when nothing is stored');
select is(jsonb_array_length((:'c1'::jsonb) #> '{0,investment_ids}'), 2, 'it names both investments');
select is((:'c1'::jsonb) #>> '{0,to_address}', '0x4444444444444444444444444444444444444444', 'to the investor''s wallet');
select ok(((:'c1'::jsonb) -> 0) ?& array['transfer_id','tokenization_id','user_id','to_address','token_address','chain_id','amount','nonce','investment_ids'], 'every contract key');
select is(public.claim_token_distributions('w2', :'signer', 99999, 7), '[]'::jsonb, 'F7/F9: a second claim while the first is open gets nothing');
select tests.clear_authentication();
select is((select count(*) from app.investments where transfer_id = ((:'c1'::jsonb) #>> '{0,transfer_id}')::uuid and payment_status = 'distributing'), 2::bigint, 'claimed investments are distributing');
select is((select count(*) from app.investment_events where status = 'processing' and transfer_id = ((:'c1'::jsonb) #>> '{0,transfer_id}')::uuid), 2::bigint, 'each gets a processing event');
select tests.authenticate_as_service();
select throws_ok($$select public.claim_token_distributions('w', 'nope', 99999, 0)$$, 'PT400', null, 'a malformed signer is PT400');
select throws_ok($$select public.claim_token_distributions('w', '$$ || :'signer' || $$', 99999, 0, 0)$$, 'PT400', null, 'p_limit 0 is PT400');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.claim_token_distributions('w', '$$ || :'signer' || $$', 99999, 0)$$, '42501', null, 'an admin cannot claim (service only)');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.claim_token_distributions('w', '$$ || :'signer' || $$', 99999, 0)$$, '42501', null, 'a user cannot claim');

-- record_signed_transfer -------------------------------------------------------------------------
select tests.authenticate_as_service();
select (:'c1'::jsonb) #>> '{0,transfer_id}' as t1 \gset
select is(public.record_signed_transfer(:'t1', :'h1', '0x02f8aa') ->> 'status', 'signed', 'recording the signed bytes moves planned -> signed');
select is((public.record_signed_transfer(:'t1', :'h1', '0x02f8aa') ->> 'duplicate')::boolean, true, 'the same hash again is a no-op');
select throws_ok($$select public.record_signed_transfer('$$ || :'t1' || $$', '$$ || :'h2' || $$', '0x02f8bb')$$, 'PT409', null, 'a different hash is PT409');
select throws_ok($$select public.record_signed_transfer(gen_random_uuid(), '$$ || :'h2' || $$', '0x02')$$, 'PT404', null, 'an unknown transfer is PT404');
select throws_ok($$select public.record_signed_transfer('$$ || :'t1' || $$', '0x12', '0x02')$$, 'PT400', null, 'a malformed hash is PT400');
select is(public.mark_transfers_broadcast(array[:'t1']::uuid[]), 1, 'signed -> broadcast');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.record_signed_transfer('$$ || :'t1' || $$', '$$ || :'h1' || $$', '0x02')$$, '42501', null, 'a user cannot record transfers');

-- transfers_to_reconcile -------------------------------------------------------------------------
select tests.authenticate_as_service();
select ok(public.transfers_to_reconcile('0 seconds') @> jsonb_build_array(jsonb_build_object('transfer_id', :'t1', 'status', 'broadcast')), 'a broadcast transfer is listed for reconciliation');
select is(public.transfers_to_reconcile('1 hour'), '[]'::jsonb, 'fresh transfers are not stale');
select ok(public.transfers_to_reconcile('0 seconds') -> 0 ? 'raw_tx', 'it carries the raw bytes to rebroadcast');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.transfers_to_reconcile()$$, '42501', null, 'an admin cannot list for reconciliation (service only)');

-- confirm_token_transfer: F6 additive, idempotent --------------------------------------------------
select tests.clear_authentication();
insert into app.token_holdings (user_id, tokenization_id, balance) values (:'u1', :'tok', 100);
select tests.authenticate_as_service();
select throws_ok($$select public.confirm_token_transfer('$$ || :'t1' || $$', '$$ || :'h2' || $$', 10)$$, 'PT409', null, 'a hash that is not an attempt of the transfer is PT409');
select is(public.confirm_token_transfer(:'t1', :'h1', 10), '{"status":"confirmed","already_confirmed":false}'::jsonb, 'confirm');
select is(public.confirm_token_transfer(:'t1', :'h1', 10), '{"status":"confirmed","already_confirmed":true}'::jsonb, 'confirm twice is idempotent');
select tests.clear_authentication();
select is((select balance from app.token_holdings where user_id = :'u1' and tokenization_id = :'tok'), 110::numeric, 'F6: 100 held + 10 new = 110, added once');
select is((select count(*) from app.investments where transfer_id = :'t1' and payment_status = 'tokens_distributed'), 2::bigint, 'its investments are tokens_distributed');
select is((select count(*) from app.investment_events where transfer_id = :'t1' and status = 'success'), 2::bigint, 'each gets a success event');
select tests.authenticate_as_service();
select throws_ok($$select public.fail_token_transfer('$$ || :'t1' || $$', 'x', true)$$, 'PT409', null, 'a confirmed transfer cannot fail');
select throws_ok($$select public.confirm_token_transfer(gen_random_uuid(), '$$ || :'h1' || $$', 1)$$, 'PT404', null, 'confirming an unknown transfer is PT404');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.confirm_token_transfer('$$ || :'t1' || $$', '$$ || :'h1' || $$', 10)$$, '42501', null, 'a user cannot confirm');
select is((select balance from public.my_token_holdings), 110::numeric, 'my_token_holdings shows the balance');
select tests.authenticate_as(:'u2');
select is((select count(*) from public.my_token_holdings), 0::bigint, 'another investor sees none of it');

-- F6 literally: 100 existing + 50 new = 150.
select tests.authenticate_as(:'u2');
select from public.set_my_wallet_address('0x5555555555555555555555555555555555555555');
select public.create_investment(:'tok', 50) as i5 \gset
select tests.clear_authentication();
insert into app.token_holdings (user_id, tokenization_id, balance) values (:'u2', :'tok', 100);
select tests.authenticate_as_service();
select from public.admin_set_kyc_status(:'u2', 'verified');
select public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9020, 'reference', (:'i5'::jsonb) ->> 'reference', 'amount', 1252500, 'currency', 'NGN')));

-- fail_token_transfer: releases the investments, and the released nonce is reused ---------------
select public.claim_token_distributions('w3', :'signer', 99999, 0) as c2 \gset
select is(((:'c2'::jsonb) #>> '{0,nonce}')::bigint, 8::bigint, 'the next claim continues from the stored nonce (greatest of stored and chain)');
select (:'c2'::jsonb) #>> '{0,transfer_id}' as t2 \gset
select is((public.fail_token_transfer(:'t2', 'never broadcast', false) ->> 'released')::int, 1, 'failing releases its investment');
select is((public.fail_token_transfer(:'t2', 'never broadcast', false) ->> 'already_failed')::boolean, true, 'failing again is idempotent');
select tests.clear_authentication();
select is((select payment_status from app.investments where id = ((:'i5'::jsonb) ->> 'investment_id')::uuid), 'confirmed', 'the investment is confirmed again');
select tests.authenticate_as_service();
select public.claim_token_distributions('w4', :'signer', 99999, 0) as c3 \gset
select is(((:'c3'::jsonb) #>> '{0,nonce}')::bigint, 8::bigint, 'the released nonce is reused first: no gap');
select isnt((:'c3'::jsonb) #>> '{0,transfer_id}', :'t2'::text, 'in a new transfer');
select (:'c3'::jsonb) #>> '{0,transfer_id}' as t3 \gset
select from public.record_signed_transfer(:'t3', :'h2', '0x02f8cc');
select from public.confirm_token_transfer(:'t3', :'h2', 11);
select tests.clear_authentication();
select is((select balance from app.token_holdings where user_id = :'u2' and tokenization_id = :'tok'), 150::numeric, 'F6: 100 existing + 50 new = 150');
select tests.authenticate_as_service();
select is((public.claim_token_distributions('w5', :'signer', 99999, 20) #>> '{0,nonce}'), null, 'nothing left to claim');
select tests.clear_authentication();
select is((select next_nonce from app.treasury_nonces where chain_id = 99999 and signer = :'signer'), 9::bigint, 'the stored next nonce did not move for a reused nonce');
select tests.authenticate_as_service();
select throws_ok($$select public.fail_token_transfer(gen_random_uuid(), 'x', true)$$, 'PT404', null, 'failing an unknown transfer is PT404');
select throws_ok($$select public.fail_token_transfer('$$ || :'t2' || $$', 'x', null)$$, 'PT400', null, 'p_nonce_consumed is required');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.fail_token_transfer('$$ || :'t2' || $$', 'x', true)$$, '42501', null, 'a user cannot fail transfers');

-- token_distribution_report ------------------------------------------------------------------------
select tests.authenticate_as(:'adm', 'aal1');
select ok(public.token_distribution_report(:'tok') @> jsonb_build_array(jsonb_build_object('user_id', :'u2', 'holdings', '150', 'distributed', '50', 'discrepancy', true)), 'holdings that differ from the distributed sum are flagged');
select ok(public.token_distribution_report(:'tok') @> jsonb_build_array(jsonb_build_object('user_id', :'u1', 'holdings', '110', 'distributed', '10', 'discrepancy', true)), 'the seeded 100 shows as a discrepancy too');
-- The report a page at a time: discrepancies first, each row with its cursor, p_after continues.
select public.token_distribution_report(:'tok', 1) as rp1 \gset
select is(jsonb_array_length(:'rp1'::jsonb), 1, 'p_limit 1: one row');
select is((:'rp1'::jsonb) #>> '{0,discrepancy}', 'true', 'discrepancies first');
select ok((:'rp1'::jsonb) #>> '{0,cursor}' ~ '^0/', 'a paged row carries its cursor');
select is((select jsonb_agg(r - 'cursor') from jsonb_array_elements(
             public.token_distribution_report(:'tok', 1) || public.token_distribution_report(:'tok', 1000, (:'rp1'::jsonb) #>> '{0,cursor}')) r),
          public.token_distribution_report(:'tok'), 'the first page and the rest are the whole report, in order');
select ok(not (public.token_distribution_report(:'tok') -> 0 ? 'cursor'), 'the whole report has no cursors');
select throws_ok($$select public.token_distribution_report(null, 0)$$, 'PT400', null, 'p_limit 0 is PT400');
select throws_ok($$select public.token_distribution_report(null, 10, 'nope')$$, 'PT400', null, 'a bad cursor is PT400');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.token_distribution_report()$$, '42501', null, 'a user cannot read the report');
select tests.authenticate_as_anon();
select throws_ok($$select public.token_distribution_report()$$, '42501', null, 'anon cannot read the report');

-- reconciliation helpers ---------------------------------------------------------------------------
select tests.authenticate_as_service();
select ok(jsonb_typeof(public.token_audit_targets() -> 'holders') = 'array', 'audit targets list holders');
select cmp_ok(public.record_reconciliation_run('{"checked":0}', '[{"kind":"chain_vs_holdings","user_id":"00000000-0000-0000-0000-000000000001","tokenization_id":null}]'), '>', 0::bigint, 'a run is recorded');
select tests.authenticate_as(:'adm', 'aal1');
select ok(public.admin_token_alerts() @> '[{"kind":"discrepancy"}]', 'admin_token_alerts shows the latest discrepancies');
select ok(public.admin_token_alerts() @> '[{"kind":"amount_mismatch"}]', 'and amount mismatches');
-- A transfer that keeps failing stops after three attempts instead of retrying forever.
select tests.authenticate_as(:'u2');
select public.create_investment(:'tok', 1) as i6 \gset
select tests.authenticate_as_service();
select from public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 9030, 'reference', (:'i6'::jsonb) ->> 'reference', 'amount', 25050, 'currency', 'NGN')));
create function pg_temp.claim_and_revert(p_signer text) returns void language plpgsql as $$
begin
  for i in 1..3 loop
    perform public.fail_token_transfer(
      (public.claim_token_distributions('w', p_signer, 99999, 0) #>> '{0,transfer_id}')::uuid, 'reverted', true);
  end loop;
end $$;
select pg_temp.claim_and_revert(:'signer');
select tests.clear_authentication();
select is((select payment_status from app.investments where id = ((:'i6'::jsonb) ->> 'investment_id')::uuid), 'failed', 'after three failed transfers the investment stops as failed');
select tests.authenticate_as(:'adm', 'aal1');
select ok(public.admin_token_alerts() @> '[{"kind":"investment_failed"}]', 'and is listed for a person');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.admin_token_alerts()$$, '42501', null, 'a user cannot read token alerts');
select throws_ok($$select public.token_audit_targets()$$, '42501', null, 'a user cannot read audit targets');

select * from finish();
rollback;
