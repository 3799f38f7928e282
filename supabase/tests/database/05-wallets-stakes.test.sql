-- Wallets, funding, stakes, KYC and wallet addresses: every RPC, its errors and its roles.
begin;
select plan(49);

select tests.create_user('u1@test.io') as u1 \gset
select tests.create_user('u2@test.io') as u2 \gset
select tests.create_user('admin@test.io', true) as adm \gset

-- The signup trigger gives a profile and three wallets.
select is((select count(*) from app.accounts where user_id = :'u1'), 3::bigint, 'signup creates funded, staked and earnings wallets');
select is((select kyc_status from app.profiles where user_id = :'u1'), 'pending', 'signup creates a pending profile');
select is((select array_agg(kind order by kind) from app.accounts where user_id = :'u1'),
  (select array_agg(k order by k) from unnest(app.account_kinds()) k where k not like 'platform\_%'),
  'the wallets are the account kinds that are not the platform''s (app.wallet_kinds)');
select throws_ok(format($$insert into app.accounts (user_id, kind) values (%L, 'savings')$$, :'u1'), '23514', null,
  'an account of a kind app.account_kinds does not list is refused');

-- credit_funded_wallet --------------------------------------------------------------------------
select tests.authenticate_as_service();
select is(public.credit_funded_wallet(:'u1', 500, 'ref-1'), '{"duplicate":false,"balance":"500.00"}'::jsonb, 'service credits a wallet');
select is(public.credit_funded_wallet(:'u1', 500, 'ref-1'), '{"duplicate":true,"balance":"500.00"}'::jsonb, 'the same reference again is a duplicate and credits nothing');
select throws_ok($$select public.credit_funded_wallet('$$ || :'u2' || $$', 500, 'ref-1')$$, 'PT409', null, 'a reference reused for another user is PT409');
select throws_ok($$select public.credit_funded_wallet('$$ || :'u1' || $$', 0, 'ref-2')$$, 'PT400', null, 'amount 0 is PT400');
select throws_ok($$select public.credit_funded_wallet('$$ || :'u1' || $$', 1.234, 'ref-2')$$, 'PT400', null, 'sub-cent amount is PT400');
select throws_ok($$select public.credit_funded_wallet('$$ || :'u1' || $$', 5, '')$$, 'PT400', null, 'an empty reference is PT400');
select throws_ok($$select public.credit_funded_wallet(gen_random_uuid(), 5, 'ref-3')$$, 'PT404', null, 'an unknown user is PT404');
select tests.authenticate_as_anon();
select throws_ok($$select public.credit_funded_wallet('$$ || :'u1' || $$', 5, 'ref-4')$$, '42501', null, 'anon cannot credit');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.credit_funded_wallet('$$ || :'u1' || $$', 5, 'ref-4')$$, '42501', null, 'a user cannot credit themselves');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.credit_funded_wallet('$$ || :'u1' || $$', 5, 'ref-4')$$, '42501', null, 'an admin cannot credit (service only)');

-- create_stake ----------------------------------------------------------------------------------
select tests.authenticate_as(:'u1');
select is((public.create_stake(100)) - 'stake_id' - 'max_return_percent', '{"amount":"100.00","status":"active"}'::jsonb, 'a user stakes from the funded wallet');
select is((select balance from public.my_wallets where kind = 'funded'), 400.00::numeric, 'funded wallet debited');
select is((select balance from public.my_wallets where kind = 'staked'), 100.00::numeric, 'staked wallet credited');
select throws_ok('select public.create_stake(0)', 'PT400', null, 'stake of 0 is PT400');
select throws_ok('select public.create_stake(-5)', 'PT400', null, 'negative stake is PT400');
select throws_ok('select public.create_stake(400.01)', 'PT400', null, 'more than the funded balance is PT400');
select is((select count(*) from public.my_stakes), 1::bigint, 'my_stakes shows the stake');
select is((select max_return_percent from public.my_stakes), 200.0000::numeric, 'the default cap is 200 %');
select tests.authenticate_as(:'u2');
select is((select count(*) from public.my_stakes), 0::bigint, 'another user does not see it');
select is((select count(*) from public.my_wallets where balance > 0), 0::bigint, 'another user sees only their own (empty) wallets');
select throws_ok('select public.create_stake(1)', 'PT400', null, 'a user without funds cannot stake');
select tests.authenticate_as_anon();
select throws_ok('select public.create_stake(1)', '42501', null, 'anon cannot stake');
select throws_ok('select * from public.my_wallets', '42501', null, 'anon cannot read my_wallets');
select tests.authenticate_as_service();
select throws_ok('select public.create_stake(1)', '42501', null, 'the service role has no user to stake for');

-- set_my_wallet_address -------------------------------------------------------------------------
select tests.authenticate_as(:'u1');
select is(public.set_my_wallet_address('0xabCDeF0123456789AbcdEf0123456789aBCDEF01'),
  '{"wallet_address":"0xabcdef0123456789abcdef0123456789abcdef01"}'::jsonb, 'a valid (checksummed) address is stored lowercase');
select throws_ok($$select public.set_my_wallet_address('0x123')$$, 'PT400', null, 'a short address is PT400');
select throws_ok($$select public.set_my_wallet_address('abcdef0123456789abcdef0123456789abcdef0101')$$, 'PT400', null, 'no 0x prefix is PT400');
select throws_ok($$select public.set_my_wallet_address('0xZZcdef0123456789abcdef0123456789abcdef01')$$, 'PT400', null, 'non-hex is PT400');
select tests.authenticate_as(:'u2');
select throws_ok($$select public.set_my_wallet_address('0xABCDEF0123456789ABCDEF0123456789ABCDEF01')$$, 'PT409', null, 'the same address in another case belongs to u1: PT409');
select tests.authenticate_as_anon();
select throws_ok($$select public.set_my_wallet_address('0xabcdef0123456789abcdef0123456789abcdef02')$$, '42501', null, 'anon cannot set a wallet');

-- admin_set_kyc_status --------------------------------------------------------------------------
select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_set_kyc_status(:'u1', 'verified') ->> 'kyc_status', 'verified', 'admin aal2 verifies KYC');
select throws_ok($$select public.admin_set_kyc_status('$$ || :'u1' || $$', 'approved')$$, 'PT400', null, 'an unknown status is PT400');
select throws_ok($$select public.admin_set_kyc_status(gen_random_uuid(), 'verified')$$, 'PT404', null, 'an unknown user is PT404');
select tests.authenticate_as(:'adm', 'aal1');
select throws_ok($$select public.admin_set_kyc_status('$$ || :'u2' || $$', 'verified')$$, '42501', null, 'admin without MFA is 42501');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.admin_set_kyc_status('$$ || :'u1' || $$', 'verified')$$, '42501', null, 'a user cannot set KYC');
select tests.authenticate_as(:'u2');
select throws_ok($$select public.admin_set_kyc_status('$$ || :'u1' || $$', 'rejected')$$, '42501', null, 'another user cannot set KYC');
select tests.authenticate_as_anon();
select throws_ok($$select public.admin_set_kyc_status('$$ || :'u1' || $$', 'verified')$$, '42501', null, 'anon cannot set KYC');
select tests.authenticate_as_service();
select is(public.admin_set_kyc_status(:'u2', 'rejected') ->> 'kyc_status', 'rejected', 'the service role sets KYC');
select tests.clear_authentication();
select is((select count(*) from app.admin_audit where action = 'set_kyc_status' and target ->> 'user_id' in (:'u1', :'u2')), 2::bigint, 'each KYC change is audited');

-- my_today_profit -------------------------------------------------------------------------------
select tests.authenticate_as(:'u1');
select is(public.my_today_profit(), 0::numeric, 'no payouts today: 0');
select is(public.my_today_profit('2030-01-01'), 0::numeric, 'no payouts on a given day: 0');
select tests.authenticate_as_anon();
select throws_ok('select public.my_today_profit()', '42501', null, 'anon has no profit to read');

-- my_transactions shows funding and stakes.
select tests.authenticate_as(:'u1');
select is((select count(*) from public.my_transactions where type = 'Wallet Funding'), 1::bigint, 'funding appears once');
select is((select count(*) from public.my_transactions where type = 'Stake'), 1::bigint, 'the stake appears');

-- The books balance.
select tests.clear_authentication();
select is((select count(*) from app.ledger_violations()), 0::bigint, 'ledger balanced: every transaction sums to 0, balances equal entries');

select * from finish();
rollback;
