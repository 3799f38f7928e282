-- What an investor reads: the my_* views are security_invoker views (no owner-rights view, which
-- Supabase's advisors report as an ERROR), so the RLS policies and column grants beside each app
-- table decide. Each caller sees their own rows only, through the views and below them.
begin;
select plan(20);

select tests.create_user('reader1@test.io') as u1 \gset
select tests.create_user('reader2@test.io') as u2 \gset
select tests.authenticate_as_service();
select public.credit_funded_wallet(:'u1', 300, 'reads-1');
select public.credit_funded_wallet(:'u2', 700, 'reads-2');
select tests.authenticate_as(:'u1');
select public.create_stake(100);
select tests.authenticate_as(:'u2');
select public.create_stake(200);
select tests.clear_authentication();

select is((select string_agg(c.relname, ', ' order by c.relname) from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'public' and c.relkind = 'v'
             and not coalesce(c.reloptions @> array['security_invoker=true'], false)),
          null, 'every view in public runs with the caller''s rights (security_invoker)');

select tests.authenticate_as(:'u1');
select is((select count(*) from public.my_wallets), 3::bigint, 'my_wallets: the caller''s three wallets');
select is((select balance from public.my_wallets where kind = 'funded'), 200.00::numeric(20, 2), 'my_wallets: the caller''s balance');
select is((select count(*) from public.my_stakes), 1::bigint, 'my_stakes: one stake, the caller''s');
select is((select amount from public.my_stakes), 100.00::numeric(20, 2), 'my_stakes: the caller''s amount');
select is((select count(*) from public.my_transactions where type = 'Wallet Funding'), 1::bigint, 'my_transactions: the caller''s funding only');
select is((select count(*) from public.my_transactions where type = 'Stake'), 1::bigint, 'my_transactions: the caller''s stake only');

-- Below the views, RLS gives the same answer: another investor's rows do not exist for the caller.
select is((select count(*) from app.accounts where user_id = :'u2'), 0::bigint, 'RLS: another investor''s wallets are invisible');
select is((select count(*) from app.stakes where user_id = :'u2'), 0::bigint, 'RLS: another investor''s stakes are invisible');
select is((select count(*) from app.ledger_entries e join app.accounts a on a.id = e.account_id where a.user_id = :'u2'), 0::bigint, 'RLS: another investor''s entries are invisible');
select is((select count(*) from app.ledger_transactions where description like '%reads-2%'), 0::bigint, 'RLS: another investor''s funding transaction is invisible');
select is((select count(*) from app.accounts where user_id is null), 0::bigint, 'RLS: platform accounts are invisible');

-- Column grants: what the views need, nothing more; internal tables not at all.
select throws_ok($$select idempotency_key from app.ledger_transactions$$, '42501', null, 'a ledger transaction''s idempotency key is not readable');
select throws_ok($$select signer from app.token_transfers$$, '42501', null, 'a transfer''s signer is not readable');
select throws_ok($$select raw_tx from app.token_transfers$$, '42501', null, 'a transfer''s signed bytes are not readable');
select throws_ok($$select * from app.settings$$, '42501', null, 'settings are not readable');
select throws_ok($$select * from app.profiles$$, '42501', null, 'profiles are not readable directly');
select throws_ok($$update app.accounts set balance = 1e9$$, '42501', null, 'no investor can write a wallet');

select tests.authenticate_as(:'u2');
select is((select balance from public.my_wallets where kind = 'funded'), 500.00::numeric(20, 2), 'the other investor sees their own balance');

select tests.authenticate_as_anon();
select throws_ok($$select * from public.my_wallets$$, '42501', null, 'anon reads no wallets');

select * from finish();
rollback;
