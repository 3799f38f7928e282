-- The console's reads: the overview's keys, the distribution report a page at a time (keyset
-- cursor, filters, sorting, one investor by email, totals), who investors are, their errors. (Roles in 90-role-matrix.)
begin;
select plan(23);

select tests.create_user('console-reads-admin@test.io', true) as adm \gset
select tests.authenticate_as_service();
select public.admin_register_tokenization('CONSOLE-READS', '0x9999999999999999999999999999999999999998', 515151, 10) ->> 'tokenization_id' as tok \gset
select tests.clear_authentication();
select tests.create_user('cr-1@test.io') as u1 \gset
select tests.create_user('cr-2@test.io') as u2 \gset
select tests.create_user('cr-3@test.io') as u3 \gset
insert into app.token_holdings (user_id, tokenization_id, balance)
values (:'u1', :'tok', 4), (:'u2', :'tok', 0), (:'u3', :'tok', 1);
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference, payment_status)
values (:'u2', :'tok', 3, 30, 3000, 'NGN', 'CR-' || gen_random_uuid(), 'confirmed');

select tests.authenticate_as(:'adm', 'aal1');
select ok(public.admin_overview() ?& array['today', 'slots', 'alerts', 'tokens', 'reconciliation', 'daily'],
  'the overview has its sections');
select is(jsonb_array_length(public.admin_overview() -> 'daily'), 30, 'thirty days of history');
select public.admin_distribution_report_page(:'tok', 2) as p1 \gset
select is(jsonb_array_length((:'p1'::jsonb) -> 'rows'), 2, 'a page of p_limit investors');
select ok((:'p1'::jsonb) ->> 'next_after' is not null, 'with the cursor of the next page');
select is(jsonb_array_length(public.admin_distribution_report_page(:'tok', 2, (:'p1'::jsonb) ->> 'next_after') -> 'rows'), 1,
  'the next page has the rest');
select is(public.admin_distribution_report_page(:'tok', 2, (:'p1'::jsonb) ->> 'next_after') ->> 'next_after', null,
  'and no cursor after the last');
select is((public.admin_distribution_report_page(:'tok') -> 'totals'),
  '{"holders": 2, "holdings": "5", "waiting": "3", "in_flight": "0", "distributed": "0", "discrepancies": 2, "waiting_investments": 1}'::jsonb,
  'the totals of the whole tokenization');
select is(jsonb_array_length(public.admin_distribution_report_page(:'tok', 100, null, 'discrepancies') -> 'rows'), 2,
  'discrepancies only: holdings that differ from what was distributed');
select is(public.admin_distribution_report_page(:'tok', 100, null, 'waiting') -> 'rows' -> 0 ->> 'user_id', :'u2',
  'waiting only');
select throws_ok(format($$select public.admin_distribution_report_page(%L, 0)$$, :'tok'), 'PT400', null, 'p_limit 0 is PT400');
select throws_ok(format($$select public.admin_distribution_report_page(%L, 10, null, 'some')$$, :'tok'), 'PT400', null, 'an unknown filter is PT400');
select throws_ok($$select public.admin_distribution_report_page(gen_random_uuid())$$, 'PT404', null, 'an unknown tokenization is PT404');
select is(public.admin_distribution_report_page(:'tok', 1, null, 'all', null, 'holdings') -> 'rows' -> 0 ->> 'user_id', :'u1',
  'sorted by holdings: the largest first');
select public.admin_distribution_report_page(:'tok', 1, null, 'all', null, 'holdings') ->> 'next_after' as c1 \gset
select is(public.admin_distribution_report_page(:'tok', 1, :'c1', 'all', null, 'holdings') -> 'rows' -> 0 ->> 'user_id', :'u3',
  'and its cursor goes on in that order');
select is(public.admin_distribution_report_page(:'tok', 5, null, 'all', 'CR-2@test.io') -> 'rows' -> 0 ->> 'email', 'cr-2@test.io',
  'one investor by email (any case), named by email');
select is(jsonb_array_length(public.admin_distribution_report_page(:'tok', 5, null, 'all', 'nobody@test.io') -> 'rows'), 0,
  'an unknown investor matches nobody (not everyone)');
select throws_ok(format($$select public.admin_distribution_report_page(%L, 10, 'zz', 'all', null, 'holdings')$$, :'tok'), 'PT400', null,
  'a cursor not of the order is PT400');
select throws_ok(format($$select public.admin_distribution_report_page(%L, 10, %L, 'all', null, 'holdings')$$, :'tok', '1/' || :'u1' || '/2'),
  'PT400', 'p_after is not a cursor of this order', 'a cursor with more after its user id is PT400');
select throws_ok(format($$select public.admin_distribution_report_page(%L, 10, %L)$$, :'tok', :'c1'), 'PT400', null,
  'a cursor of the holdings order is not one of the investor order');
select is(public.admin_distribution_report_page(:'tok', 5, null, 'all', ' ' || upper(:'u3') || ' ') -> 'rows' -> 0 ->> 'user_id', :'u3',
  'one investor by id (any case, trimmed)');
select throws_ok(format($$select public.admin_distribution_report_page(%L, 10, null, 'all', null, 'email')$$, :'tok'), 'PT400', null,
  'an unknown order is PT400');
select is(public.admin_investors(array[:'u1'::uuid, gen_random_uuid()]),
  jsonb_build_array(jsonb_build_object('user_id', :'u1', 'email', 'cr-1@test.io', 'name', null)),
  'admin_investors: email and name of the known ids');
select throws_ok($$select public.admin_investors((select array_agg(gen_random_uuid()) from generate_series(1, 1001)))$$, 'PT400', null,
  'admin_investors: more than 1000 ids is PT400');
select tests.clear_authentication();

select * from finish();
rollback;
