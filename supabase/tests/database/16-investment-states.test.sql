-- The investment state machine (16_investments): app.investment_transitions() is the rule, and the
-- trigger refuses every change of payment_status it does not list, whoever makes it. Then what the
-- distributor may claim (app.claimable_investments), shape by shape.
begin;
select plan(13);

select tests.create_user('states@test.io') as u \gset
insert into app.tokenizations (property_id, token_address, chain_id, price_per_token)
values ('STATES-1', '0x7777777777777777777777777777777777777777', 77777, 10) returning id as tok \gset
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
values (:'u', :'tok', 1, 10, 1000, 'NGN', 'states-1') returning id as inv \gset

select lives_ok($$update app.investments set payment_status = 'confirmed' where id = '$$ || :'inv' || $$'$$,
  'pending to confirmed is a transition');
select throws_ok($$update app.investments set payment_status = 'amount_mismatch' where id = '$$ || :'inv' || $$'$$,
  '23514', null, 'confirmed to amount_mismatch is not: refused');
select lives_ok($$update app.investments set payment_status = 'failed' where id = '$$ || :'inv' || $$'$$,
  'confirmed to failed is a transition (an admin cancels a held one)');
select throws_ok($$update app.investments set payment_status = 'confirmed' where id = '$$ || :'inv' || $$'$$,
  '23514', 'investments.payment_status: failed to confirmed is not a transition of its state machine (app.investment_transitions)',
  'failed is final: the refusal names the table, the column and the states');
select lives_ok($$update app.investments set updated_at = now() where id = '$$ || :'inv' || $$'$$,
  'a change of anything else on a final investment is not a transition');
select is_empty($$select 1 from app.investment_transitions()
                   where from_status in ('tokens_distributed', 'refunded', 'failed')$$,
  'nothing leaves tokens_distributed, refunded or failed');
select is_empty($$select s from (select from_status as s from app.investment_transitions()
                                 union select to_status from app.investment_transitions()) x
                   where s not in ('pending', 'confirmed', 'distributing', 'tokens_distributed',
                                   'amount_mismatch', 'failed', 'refunded', 'disputed')$$,
  'every state of the machine is a payment_status the column takes');
select is((select count(*)::int from (select distinct from_status, to_status from app.investment_transitions()) x),
  (select count(*)::int from app.investment_transitions()), 'each transition listed once');

-- Claimable: confirmed, no refund or dispute hold, investor KYC-verified with a wallet. Each other
-- shape differs from the claimable one in one thing only.
select tests.create_user('claimable@test.io') as ok_user \gset
select tests.create_user('unverified@test.io') as kyc_user \gset
select tests.create_user('walletless@test.io') as bare_user \gset
update app.profiles set kyc_status = 'verified', wallet_address = '0x00000000000000000000000000000000000c1a11'
 where user_id = :'ok_user';
update app.profiles set kyc_status = 'pending', wallet_address = '0x00000000000000000000000000000000000c1a12'
 where user_id = :'kyc_user';
update app.profiles set kyc_status = 'verified', wallet_address = null where user_id = :'bare_user';
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference, payment_status, refund_hold)
values (:'ok_user', :'tok', 1, 10, 1000, 'NGN', 'claim-ok', 'confirmed', null),
       (:'ok_user', :'tok', 1, 10, 1000, 'NGN', 'claim-pending', 'pending', null),
       (:'ok_user', :'tok', 1, 10, 1000, 'NGN', 'claim-refunding', 'confirmed', 'in_progress'),
       (:'ok_user', :'tok', 1, 10, 1000, 'NGN', 'claim-needs-attention', 'confirmed', 'needs_attention'),
       (:'ok_user', :'tok', 1, 10, 1000, 'NGN', 'claim-partial', 'confirmed', 'partial'),
       (:'ok_user', :'tok', 1, 10, 1000, 'NGN', 'claim-mismatch', 'amount_mismatch', null),
       (:'kyc_user', :'tok', 1, 10, 1000, 'NGN', 'claim-kyc-pending', 'confirmed', null),
       (:'bare_user', :'tok', 1, 10, 1000, 'NGN', 'claim-no-wallet', 'confirmed', null);
select is((select string_agg(i.reference, ' ') from app.claimable_investments c join app.investments i on i.id = c.id
            where i.reference like 'claim-%'), 'claim-ok',
  'only the confirmed investment without a hold, of a verified investor with a wallet, is claimable');
update app.profiles set kyc_status = 'rejected' where user_id = :'ok_user';
select is_empty($$select 1 from app.claimable_investments c join app.investments i on i.id = c.id
                   where i.reference like 'claim-%'$$,
  'an investor whose KYC is withdrawn has nothing claimable');

-- Claimed (app.claimed_statuses): exactly the claimed investments name their transfer.
select throws_ok($$update app.investments set transfer_id = gen_random_uuid() where reference = 'claim-ok'$$,
  '23514', null, 'a confirmed investment cannot name a transfer');
select throws_ok($$update app.investments set payment_status = 'distributing' where reference = 'claim-ok'$$,
  '23514', null, 'a claimed investment must name its transfer');
select is(app.owed_statuses(), array['confirmed'] || app.claimed_statuses(),
  'the tokens owed are those of confirmed and claimed investments');

select * from finish();
rollback;
