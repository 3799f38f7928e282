-- The shared input rules (issue 9): one helper per kind of value, and the RPCs that use them.
begin;
select plan(68);
set local timezone = 'UTC';

select tests.create_user('validation-u1@test.io') as u1 \gset

-- Money: finite, at most 2 decimals, never rounded, bounded.
select lives_ok($$select app.require_money(12.34, 'p', true)$$, 'money: 12.34 passes');
select lives_ok($$select app.require_money(null, 'p', true)$$, 'money: null is the caller''s business');
select lives_ok($$select app.require_money(0, 'p', false)$$, 'money: 0 passes where it may be zero');
select throws_ok($$select app.require_money('NaN', 'p', true)$$, 'PT400', 'p must be a finite amount, not NaN', 'money: NaN');
select throws_ok($$select app.require_money('Infinity', 'p', true)$$, 'PT400', 'p must be a finite amount, not Infinity', 'money: Infinity');
select throws_ok($$select app.require_money('-Infinity', 'p', false)$$, 'PT400', 'p must be a finite amount, not -Infinity', 'money: -Infinity');
select throws_ok($$select app.require_money(1.001, 'p', true)$$, 'PT400', 'p has more than 2 decimals: 1.001', 'money: sub-cent is refused');
select throws_ok($$select app.require_money(0, 'p', true)$$, 'PT400', 'p must be greater than 0', 'money: 0 where positive');
select throws_ok($$select app.require_money(-1, 'p', false)$$, 'PT400', 'p cannot be negative', 'money: negative');
select throws_ok($$select app.require_money(1e15, 'p', true)$$, 'PT400', null, 'money: above max_money');

-- Percentages and whole numbers.
select lives_ok($$select app.require_percentage(1.2345, 'x')$$, 'percentage: 4 decimals');
select throws_ok($$select app.require_percentage(1.23456, 'x')$$, 'PT400', 'x has at most 4 decimals', 'percentage: 5 decimals');
select throws_ok($$select app.require_percentage('NaN', 'x')$$, 'PT400', null, 'percentage: NaN');
select throws_ok($$select app.require_percentage('Infinity', 'x')$$, 'PT400', null, 'percentage: Infinity');
select throws_ok($$select app.require_percentage(0, 'x')$$, 'PT400', null, 'percentage: 0');
select lives_ok($$select app.require_whole(10, 't', true)$$, 'whole: 10');
select throws_ok($$select app.require_whole(1.5, 't', true)$$, 'PT400', null, 'whole: 1.5');
select throws_ok($$select app.require_whole('NaN', 't', true)$$, 'PT400', null, 'whole: NaN');
select throws_ok($$select app.require_whole(1e77, 't', true)$$, 'PT400', null, 'whole: beyond uint256');
select throws_ok($$select app.require_whole(0, 't', true)$$, 'PT400', 't must be greater than 0', 'whole: 0 where positive');

-- Text limits.
select lives_ok($$select app.require_text(repeat('a', 200), 'r', 200)$$, 'text: at the limit');
select throws_ok($$select app.require_text(repeat('a', 201), 'r', 200)$$, 'PT400', 'r is longer than 200 characters', 'text: over the limit');

-- Times: offsets and zone names honoured, none means Lagos, words refused.
select is(app.business_time('2031-03-01T10:00:00', 's'), '2031-03-01 09:00:00+00'::timestamptz, 'time: no offset is Lagos');
select is(app.business_time('2031-03-01 10:00 UTC', 's'), '2031-03-01 10:00:00+00'::timestamptz, 'time: a zone name is honoured');
select is(app.business_time('2031-03-01T10:00:00+03:00', 's'), '2031-03-01 07:00:00+00'::timestamptz, 'time: an offset is honoured');
select is(app.business_time('2031-07-01 10:00 America/New_York', 's'), '2031-07-01 14:00:00+00'::timestamptz, 'time: a zone name with DST');
select throws_ok($$select app.business_time('now', 's')$$, 'PT400', null, 'time: now is refused');
select throws_ok($$select app.business_time('infinity', 's')$$, 'PT400', null, 'time: infinity is refused');
select throws_ok($$select app.business_time('2031-02-30T10:00', 's')$$, 'PT400', null, 'time: an impossible day');
select is(current_setting('TimeZone'), 'UTC', 'time: the session zone is handed back after reading in Lagos');
select ok((select bool_and(c @> array['TimeZone=Africa/Lagos'] or c @> array['timezone=Africa/Lagos'])
             from pg_db_role_setting s join pg_roles r on r.oid = s.setrole, lateral (select s.setconfig) x(c)
            where r.rolname in ('anon', 'authenticated', 'service_role')),
          'the API roles read offset-less timestamp parameters in the business zone');

-- Protected addresses.
select tests.authenticate_as_service();
select is(public.register_treasury_address('0xAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAaAa') ->> 'address',
          '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'register_treasury_address stores lowercase');
select throws_ok($$select public.register_treasury_address('0x12')$$, 'PT400', null, 'register_treasury_address: malformed');
select tests.clear_authentication();
select ok(app.is_protected_address('0x0000000000000000000000000000000000000000'), 'the zero address is protected');
select ok(not app.is_protected_address('0x1234567890123456789012345678901234567890'), 'an ordinary address is not');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.set_my_wallet_address('0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')$$, 'PT400', null,
                 'set_my_wallet_address refuses a treasury address');
select lives_ok($$select public.set_my_wallet_address('0x1234567890123456789012345678901234567890')$$,
                'set_my_wallet_address takes an ordinary address');
select throws_ok($$select public.create_stake('NaN')$$, 'PT400', null, 'create_stake refuses NaN');
select tests.authenticate_as_service();
select throws_ok($$select public.execute_due_slots('infinity')$$, 'PT400', null, 'execute_due_slots refuses an infinite p_now');
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success',
            'data', jsonb_build_object('id', repeat('9', 5000), 'reference', repeat('R', 5000)))) ->> 'reason',
          'the reference is longer than 200 characters',
          'record_paystack_event stores an over-long id and reference (bounded keys), never refuses them');
select tests.clear_authentication();

-- Keccak-256 (Ethereum's) and EIP-55 ------------------------------------------------------------
select is(encode(app.keccak256(''::bytea), 'hex'),
  'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470', 'keccak256 of nothing');
select is(encode(app.keccak256('abc'::bytea), 'hex'),
  '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45', 'keccak256 of abc');
select is(encode(app.keccak256(convert_to(repeat('a', 200), 'UTF8')), 'hex'),
  '96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d', 'keccak256 over two blocks (ethers agrees)');
select ok(bool_and(app.eip55_ok(a)), 'EIP-55''s test addresses pass')
  from unnest(array['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
                    '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB', '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb']) a;
select ok(not app.eip55_ok('0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed'), 'one letter''s case flipped fails');
select ok(app.eip55_ok('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed') and app.eip55_ok('0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED'),
  'all lower and all upper case carry no checksum');
select tests.authenticate_as(:'u1');
select throws_ok($$select public.set_my_wallet_address('0xD1220a0cf47c7B9Be7A2E6BA89F429762e7b9aDb')$$, 'PT400', null,
  'set_my_wallet_address refuses a wrong checksum');
select throws_ok($$select public.set_my_wallet_address('0x0000000000000000000000000000000000000001')$$, 'PT400', null,
  'set_my_wallet_address refuses a precompile');
select lives_ok($$select public.set_my_wallet_address('0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb')$$,
  'and takes a checksummed address');
select tests.clear_authentication();

-- Addresses and signed transactions: one rule each, shared by every RPC that takes one.
select ok(app.is_uuid('5D3F9A10-0C1B-4E2A-9F00-1234567890AB'), 'a uuid in any case is a uuid');
select ok(not app.is_uuid('5d3f9a100c1b4e2a9f001234567890ab'), 'a uuid without its dashes is not one');
select ok(not app.is_uuid(null), 'null is not a uuid');
select throws_ok($$select app.require_uuid('1/2', 'p_cursor')$$, 'PT400', 'p_cursor must be a uuid', 'require_uuid names what is not a uuid');
select ok(app.is_address('0x' || repeat('ab', 20)), 'a lowercase address is an address');
select ok(not app.is_address('0x' || repeat('AB', 20)), 'a stored address is lowercase');
select ok(not app.is_address(null), 'null is not an address');
select is(app.require_address('  0x' || repeat('Ab', 20) || ' ', 'bad'), '0x' || repeat('ab', 20),
  'a given address is trimmed and lowercased');
select throws_ok($$select app.require_address('0x' || repeat('a', 39), 'p_x must be an address')$$,
  'PT400', 'p_x must be an address', 'an address one digit short is refused with the caller''s message');
select is(app.require_signed_tx('0x' || repeat('CD', 32), '0x02f8'), '0x' || repeat('cd', 32),
  'a signed transaction''s hash is lowercased');
select throws_ok($$select app.require_signed_tx('0x' || repeat('cd', 32), '02f8')$$, 'PT400',
  'p_tx_hash must be a 32-byte 0x hash and p_raw_tx 0x-prefixed hex', 'raw bytes without 0x are refused');

select throws_ok($$select app.require_signed_tx('0x' || repeat('cd', 31), '0x02f8')$$, 'PT400',
  'p_tx_hash must be a 32-byte 0x hash and p_raw_tx 0x-prefixed hex', 'a hash one byte short is refused');

-- What a table may store: every column that holds an address or a transaction hash takes the
-- domain (app.address, app.tx_hash), so the rule above is the only one.
select is(
  (select array_agg(c.table_name || '.' || c.column_name order by 1)
     from information_schema.columns c
    where c.table_schema = 'app'
      and (c.column_name ~ '(address|signer|tx_hash)$')
      and c.data_type = 'text' and c.domain_name is null),
  null, 'no address or hash column of app is plain text');
select is(
  (select count(*)::int from information_schema.columns c
    where c.table_schema = 'app' and c.domain_schema = 'app' and c.domain_name in ('address', 'tx_hash')),
  11, 'the address and hash columns take the domains');
select throws_ok($$insert into app.treasury_accounts (address) values ('0x' || repeat('AB', 20))$$,
  '23514', null, 'a stored address must be lowercase (the domain''s check)');
select throws_ok($$insert into app.treasury_accounts (address) values ('0x' || repeat('a', 39))$$,
  '23514', null, 'an address one digit short cannot be stored');
select throws_ok($$insert into app.released_nonces (chain_id, signer, nonce) values (1, 'treasury', 0)$$,
  '23514', null, 'a column that had no check of its own (a released nonce''s signer) refuses a non-address');
select lives_ok($$update app.profiles set wallet_address = null where user_id = '$$ || :'u1' || $$'$$,
  'a nullable address column takes null');
select throws_ok($$update app.profiles set wallet_address = 'wallet' where user_id = '$$ || :'u1' || $$'$$,
  '23514', null, 'a payout wallet that is not an address cannot be stored');

select * from finish();
rollback;
