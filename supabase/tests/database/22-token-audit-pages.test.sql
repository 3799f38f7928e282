-- The reconciler's audit in pages (22_holder_audit): token_audit_targets pages holders in
-- (user_id, tokenization_id) order from the stored cursor or p_after; record_reconciliation_run
-- records which holders a run audited and moves the cursor, back to the first holder when a pass
-- is complete; a holder's discrepancy stands until a later run audits that holder again
-- (app.current_discrepancies, read by admin_token_alerts); transfers_to_reconcile a page a run.
begin;
select plan(29);

select tests.create_user('admin@audit-pages.io', true) as adm \gset
select tests.authenticate_as_service();
select public.admin_register_tokenization('AUDIT-PAGES', '0x4444444444444444444444444444444444444444', 99999, 10)
  ->> 'tokenization_id' as tok \gset
select tests.clear_authentication();
-- Five holders whose ids sort after every random one, and a cursor placed just before them.
insert into auth.users (id, email)
select ('ffffffff-0000-0000-0000-00000000000' || n)::uuid, 'holder' || n || '@audit-pages.io'
  from generate_series(1, 5) n;
update app.profiles set wallet_address = '0x' || lpad(to_hex(1000 + right(user_id::text, 1)::int), 40, '0')
 where user_id::text like 'ffffffff-0000-0000-0000-00000000000%';
insert into app.token_holdings (user_id, tokenization_id, balance)
select ('ffffffff-0000-0000-0000-00000000000' || n)::uuid, :'tok', n from generate_series(1, 5) n;
\set before '{"user_id":"fffffffe-ffff-ffff-ffff-ffffffffffff","tokenization_id":"00000000-0000-0000-0000-000000000000"}'
\set h1 '{"user_id":"ffffffff-0000-0000-0000-000000000001","tokenization_id":"' :tok '"}'
\set h2 '{"user_id":"ffffffff-0000-0000-0000-000000000002","tokenization_id":"' :tok '"}'
\set h3 '{"user_id":"ffffffff-0000-0000-0000-000000000003","tokenization_id":"' :tok '"}'
\set h4 '{"user_id":"ffffffff-0000-0000-0000-000000000004","tokenization_id":"' :tok '"}'
\set h5 '{"user_id":"ffffffff-0000-0000-0000-000000000005","tokenization_id":"' :tok '"}'
insert into app.token_audit_cursor (id, after_user_id, after_tokenization_id)
values (true, 'fffffffe-ffff-ffff-ffff-ffffffffffff', '00000000-0000-0000-0000-000000000000')
on conflict (id) do update set after_user_id = excluded.after_user_id,
  after_tokenization_id = excluded.after_tokenization_id, pass_started_at = null, pass_audited = 0;

-- Pages ----------------------------------------------------------------------------------------
select tests.authenticate_as_service();
select public.token_audit_targets(2) as p1 \gset
select is((select jsonb_agg(h -> 'user_id') from jsonb_array_elements((:'p1'::jsonb) -> 'holders') h),
  '["ffffffff-0000-0000-0000-000000000001", "ffffffff-0000-0000-0000-000000000002"]'::jsonb,
  'a page of 2 from the stored cursor, in order');
select is((:'p1'::jsonb) -> 'next_after', :'h2'::jsonb, 'next_after is the last holder of the page');
select is((:'p1'::jsonb) -> 'from', :'before'::jsonb, 'from is where the page started (the cursor)');
select is((:'p1'::jsonb) #>> '{holders,0,wallet_address}', '0x00000000000000000000000000000000000003e9',
  'with the holder''s wallet');
select ok((:'p1'::jsonb) -> 'tokens' @> jsonb_build_array(jsonb_build_object('tokenization_id', :'tok')),
  'and the per-token totals');
select public.token_audit_targets(10, :'h2') as p2 \gset
select is(jsonb_array_length((:'p2'::jsonb) -> 'holders'), 3, 'after h2: the three others');
select is((:'p2'::jsonb) -> 'next_after', 'null'::jsonb, 'a short page ends the pass: no next_after');

-- A run's range: its holders audited, the cursor moved ---------------------------------------------
select public.record_reconciliation_run('{}',
  jsonb_build_array(jsonb_build_object('kind', 'chain_vs_holdings', 'user_id', 'ffffffff-0000-0000-0000-000000000001', 'tokenization_id', :'tok')),
  jsonb_build_object('from', :'before'::jsonb, 'through', :'h2'::jsonb, 'pass_complete', false)) as run_a \gset
select tests.clear_authentication();
select is((select after_user_id::text || ':' || pass_audited from app.token_audit_cursor),
  'ffffffff-0000-0000-0000-000000000002:2', 'the cursor is past h2, two audited in this pass');
select is((select string_agg(right(user_id::text, 1) || '=' || discrepant, ' ' order by user_id) from app.holder_audits
            where run_id = :run_a), '1=true 2=false', 'h1 and h2 audited by the run, h1 found inconsistent');
select tests.authenticate_as_service();
select is(public.token_audit_targets(2) -> 'from', :'h2'::jsonb, 'the next page starts after the cursor');
select is(public.token_audit_targets(2) #>> '{pass,audited}', '2', 'the pass''s progress');
select isnt(public.token_audit_targets(2) #>> '{pass,started_at}', null, 'and when it started');

-- The pass completes: the cursor goes back to the first holder --------------------------------------
select public.record_reconciliation_run('{}', '[]',
  jsonb_build_object('from', :'h2'::jsonb, 'through', :'h5'::jsonb, 'pass_complete', true)) as run_b \gset
select tests.clear_authentication();
select is((select coalesce(after_user_id::text, 'start') || ':' || pass_audited || ':' || last_pass_holders
             from app.token_audit_cursor), 'start:0:5', 'pass complete: the cursor restarts; the pass audited 5');
select isnt((select last_pass_completed_at from app.token_audit_cursor), null, 'and when it completed');

-- A holder's discrepancy stands until the holder is audited again -----------------------------------
select tests.authenticate_as(:'adm', 'aal1');
select ok(public.admin_token_alerts() @> jsonb_build_array(jsonb_build_object('kind', 'discrepancy',
  'user_id', 'ffffffff-0000-0000-0000-000000000001', 'run_id', :run_a)),
  'h1''s discrepancy stands after a later run that did not audit h1');
select tests.authenticate_as_service();
select from public.record_reconciliation_run('{}', '[]',
  jsonb_build_object('from', :'before'::jsonb, 'through', :'h1'::jsonb, 'pass_complete', false));
select tests.authenticate_as(:'adm', 'aal1');
select ok(not public.admin_token_alerts() @> jsonb_build_array(jsonb_build_object('kind', 'discrepancy',
  'user_id', 'ffffffff-0000-0000-0000-000000000001')), 'audited again and consistent: gone');

-- A holder of a token that could not be read is not audited by that run ----------------------------
select tests.authenticate_as_service();
select from public.record_reconciliation_run('{}',
  jsonb_build_array(jsonb_build_object('kind', 'chain_vs_holdings', 'user_id', 'ffffffff-0000-0000-0000-000000000004', 'tokenization_id', :'tok')),
  jsonb_build_object('from', :'h3'::jsonb, 'through', :'h4'::jsonb, 'pass_complete', false));
select from public.record_reconciliation_run('{}',
  jsonb_build_array(jsonb_build_object('kind', 'audit_unavailable', 'tokenization_id', :'tok')),
  jsonb_build_object('from', :'h3'::jsonb, 'through', :'h5'::jsonb, 'pass_complete', false));
select tests.authenticate_as(:'adm', 'aal1');
select ok(public.admin_token_alerts() @> jsonb_build_array(jsonb_build_object('kind', 'discrepancy',
  'user_id', 'ffffffff-0000-0000-0000-000000000004')), 'h4''s discrepancy stands while its token is unreadable');
select ok(public.admin_token_alerts() @> '[{"kind":"audit_unavailable"}]', 'beside the unreadable token');

-- A run recorded without a range: all its discrepancies stand as the latest run's -------------------
select tests.authenticate_as_service();
select from public.record_reconciliation_run('{}',
  jsonb_build_array(jsonb_build_object('kind', 'holdings_vs_distributed', 'user_id', 'ffffffff-0000-0000-0000-000000000003', 'tokenization_id', :'tok')));
select tests.authenticate_as(:'adm', 'aal1');
select ok(public.admin_token_alerts() @> jsonb_build_array(jsonb_build_object('kind', 'discrepancy',
  'user_id', 'ffffffff-0000-0000-0000-000000000003')), 'a run without a range: its holder discrepancy is shown');

-- Errors ----------------------------------------------------------------------------------------------
select tests.authenticate_as_service();
select throws_ok($$select public.token_audit_targets(0)$$, 'PT400', null, 'p_limit 0 is PT400');
select throws_ok($$select public.token_audit_targets(5001)$$, 'PT400', null, 'p_limit past 5000 is PT400');
select throws_ok($$select public.token_audit_targets(10, '[]')$$, 'PT400', null, 'p_after not an object is PT400');
select throws_ok($$select public.token_audit_targets(10, '{"user_id":"x","tokenization_id":"y"}')$$, 'PT400',
  'p_after.user_id must be a uuid', 'p_after with a key that is not a uuid is PT400 naming it');
select throws_ok($$select public.record_reconciliation_run('{}', '[]', '{"through":null}')$$, 'PT400', null,
  'p_audit without pass_complete is PT400');
select throws_ok($$select public.record_reconciliation_run('{}', '[]', '{"through":{"user_id":"nope"},"pass_complete":false}')$$,
  'PT400', null, 'a through that is not a holder key is PT400');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select public.token_audit_targets()$$, '42501', null, 'an admin does not read audit targets');
select throws_ok($$select public.record_reconciliation_run('{}', '[]', null)$$, '42501', null, 'nor records runs');

-- transfers_to_reconcile: a page a run, lowest nonces first ------------------------------------------
select tests.clear_authentication();
update app.investments set payment_status = 'failed', transfer_id = null where payment_status in ('confirmed', 'distributing');
update app.profiles set kyc_status = 'verified' where user_id::text like 'ffffffff-0000-0000-0000-00000000000%';
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference, payment_status, confirmed_at)
select ('ffffffff-0000-0000-0000-00000000000' || n)::uuid, :'tok', 1, 10, 1000, 'NGN', 'AUDIT-PAGES-' || n, 'confirmed', now()
  from generate_series(1, 3) n;
select tests.authenticate_as_service();
select is(jsonb_array_length(public.claim_token_distributions('w', '0x1111111111111111111111111111111111111111', 99999, 0, 3)), 3,
  'three transfers planned');
select tests.clear_authentication();
update app.settings set value = '2' where key = 'reconcile_page';
select tests.authenticate_as_service();
select is((select jsonb_agg((t ->> 'nonce')::int) from jsonb_array_elements(public.transfers_to_reconcile('0 seconds')) t
            where t ->> 'signer' = '0x1111111111111111111111111111111111111111'),
  '[0, 1]'::jsonb, 'reconcile_page 2: the two lowest nonces of the three');

select * from finish();
rollback;
