-- Payment reversals: every Paystack event type × every investment state, out-of-order pairs,
-- duplicates, partial debits, the claim and the failed transfer under a reversal, the alerts,
-- admin_resolve_investment (actions, errors, roles) and the investor's history.
begin;
select plan(176);

select tests.create_user('rev@test.io') as u \gset
select tests.create_user('rev-admin@test.io', true) as adm \gset
update app.profiles set kyc_status = 'verified', wallet_address = '0x4444444444444444444444444444444444444444'
 where user_id = :'u';
-- Isolate from any earlier data: nothing else is claimable here.
update app.investments set payment_status = 'failed', transfer_id = null
 where payment_status in ('confirmed', 'distributing');
select tests.authenticate_as_service();
select public.admin_register_tokenization('REV-PROP', '0x5555555555555555555555555555555555555555', 88888, 10) ->> 'tokenization_id' as tok \gset
select tests.clear_authentication();

-- An investment of 1 token (1000 kobo) in a given state; distributing and tokens_distributed ones
-- get the transfer their state requires.
create function tests.rv_investment(p_user uuid, p_tok uuid, p_status text) returns text
language plpgsql security definer set search_path = '' as $$
declare
  v_ref text := 'REV-' || gen_random_uuid();
  v_transfer uuid;
begin
  if p_status in ('distributing', 'tokens_distributed') then
    insert into app.token_transfers (tokenization_id, user_id, to_address, token_address, chain_id,
      signer, nonce, amount, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, status, tx_hash, raw_tx)
    values (p_tok, p_user, '0x4444444444444444444444444444444444444444',
      '0x5555555555555555555555555555555555555555', 88888, '0x6666666666666666666666666666666666666666',
      (select coalesce(max(nonce), 0) + 1 from app.token_transfers), 1, 100000, 1, 1,
      case when p_status = 'distributing' then 'planned' else 'confirmed' end,
      case when p_status = 'distributing' then null else '0x' || md5(v_ref) || md5(v_ref) end,
      case when p_status = 'distributing' then null else '0x00' end)
    returning id into v_transfer;
  end if;
  insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency,
    reference, payment_status, transfer_id, status_before_dispute)
  values (p_user, p_tok, 1, 10, 1000, 'NGN', v_ref, p_status, v_transfer,
    case when p_status = 'disputed' then 'confirmed' end);
  return v_ref;
end $$;

-- One Paystack event for a reference in its published shape (tests.paystack_event): charges name
-- the reference in data.reference, refunds in data.transaction_reference (no data.id, the amount
-- a string), disputes in data.transaction.reference. p_id is the charge's or the dispute's id
-- (refunds have none: their identity is the digest of their data). Returns the outcome.
create function tests.rv_event(p_type text, p_id text, p_ref text, p_extra jsonb default '{}')
returns text language sql as $$
  select public.record_paystack_event(
    case
      when p_type = 'charge.success' then
        tests.paystack_event(p_type, jsonb_build_object('id', p_id, 'reference', p_ref, 'amount', 1000) || p_extra)
      when p_type like 'refund.%' then
        tests.paystack_event(p_type, jsonb_build_object('transaction_reference', p_ref, 'amount', '1000') || p_extra)
      else
        tests.paystack_event(p_type, jsonb_build_object('id', p_id, 'transaction.reference', p_ref) || p_extra)
    end) ->> 'outcome'
$$;

-- The investment of a reference, readable from any role the test acts as.
create function tests.rv(p_ref text) returns app.investments
language sql security definer set search_path = '' as $$
  select * from app.investments where reference = p_ref
$$;
grant execute on function tests.rv_event(text, text, text, jsonb), tests.rv_investment(uuid, uuid, text),
  tests.rv(text) to service_role, authenticated;

-- The matrix ------------------------------------------------------------------------------------
create temp table cases (state text, ev text, extra jsonb, want_status text, want_reversal text,
  want_outcome text, want_hold boolean, ref text) on commit drop;
insert into cases (state, ev, extra, want_status, want_reversal, want_outcome, want_hold)
select s.state, e.ev, e.extra, r.want_status, r.want_reversal, r.want_outcome, r.want_hold
  from (values ('pending'), ('confirmed'), ('amount_mismatch'), ('distributing'),
               ('tokens_distributed'), ('refunded'), ('disputed'), ('failed')) s(state)
 cross join (values ('charge.success', '{}'::jsonb), ('refund.pending', '{}'), ('refund.processed', '{}'),
               ('refund.failed', '{}'), ('charge.dispute.create', '{}'),
               ('charge.dispute.resolve', '{"resolution": "declined"}'),
               ('charge.dispute.resolve', '{"resolution": "merchant-accepted"}')) e(ev, extra)
 cross join lateral (select
   -- status after
   case
     when s.state in ('refunded', 'failed', 'distributing', 'tokens_distributed') then s.state
     when e.ev = 'charge.success' then case s.state when 'pending' then 'confirmed' else s.state end
     when e.ev = 'refund.processed' then 'refunded'
     when e.ev = 'charge.dispute.create' then 'disputed'
     when e.ev = 'charge.dispute.resolve' and e.extra ->> 'resolution' = 'declined'
       then case s.state when 'disputed' then 'confirmed' else s.state end
     when e.ev = 'charge.dispute.resolve' then 'refunded'
     else s.state
   end as want_status,
   -- the alert after
   case
     when s.state not in ('distributing', 'tokens_distributed') then null
     when e.ev = 'refund.processed' then 'refund'
     when e.ev = 'charge.dispute.create' then 'dispute'
     when e.ev = 'charge.dispute.resolve' and e.extra ->> 'resolution' <> 'declined' then 'refund'
   end as want_reversal,
   case
     when e.ev = 'charge.success' then
       case s.state when 'pending' then 'investment_confirmed'
                    when 'refunded' then 'ignored' when 'disputed' then 'ignored' else 'duplicate' end
     when e.ev like 'refund.%' then 'refund_recorded'
     when e.ev = 'charge.dispute.create' then 'dispute_recorded'
     else 'dispute_resolved'
   end as want_outcome,
   e.ev = 'refund.pending' and s.state in ('pending', 'confirmed', 'amount_mismatch', 'disputed') as want_hold
 ) r;
update cases set ref = tests.rv_investment(:'u', :'tok', state);
grant select on cases to service_role;

select tests.authenticate_as_service();
select is(tests.rv_event(c.ev, 'm-' || c.ref || '-' || c.ev, c.ref, c.extra), c.want_outcome,
          format('%s + %s%s: outcome %s', c.state, c.ev, coalesce(' ' || (c.extra ->> 'resolution'), ''), c.want_outcome))
  from cases c order by c.state, c.ev, c.extra::text;
select tests.clear_authentication();
select is(i.payment_status, c.want_status,
          format('%s + %s%s: %s', c.state, c.ev, coalesce(' ' || (c.extra ->> 'resolution'), ''), c.want_status))
  from cases c join app.investments i on i.reference = c.ref order by c.state, c.ev, c.extra::text;
select is((select count(*)::int from cases c join app.investments i on i.reference = c.ref
            where i.reversal is distinct from c.want_reversal), 0,
          'a reversal after the claim raises exactly the expected alert, and only then');
select is((select count(*)::int from cases c join app.investments i on i.reference = c.ref
            where (i.refund_hold is not null) is distinct from c.want_hold), 0,
          'a refund in progress holds exactly the unclaimed investments');
select is((select count(*)::int from cases c join app.investments i on i.reference = c.ref
            where c.state in ('distributing', 'tokens_distributed') and i.transfer_id is null), 0,
          'no reversal touches a claimed investment''s transfer');

-- Out of order, duplicates, partial debits -------------------------------------------------------
select tests.rv_investment(:'u', :'tok', 'pending') as r1 \gset
select tests.authenticate_as_service();
select is(tests.rv_event('refund.processed', 'o1-r', :'r1'), 'refund_recorded', 'a refund before its charge is recorded');
select is(tests.rv_event('charge.success', 'o1-c', :'r1'), 'ignored', 'the charge after its refund never confirms it');
select is((tests.rv(:'r1')).payment_status, 'refunded', 'it stays refunded');
select is(tests.rv_event('refund.processed', 'o1-r', :'r1'), 'duplicate', 'the same refund event again is a duplicate');

select tests.rv_investment(:'u', :'tok', 'pending') as r2 \gset
select is(tests.rv_event('charge.dispute.resolve', 'd2', :'r2', '{"resolution": "declined"}'), 'dispute_resolved', 'a resolve that arrives before its create');
select is(tests.rv_event('charge.dispute.create', 'd2', :'r2'), 'dispute_recorded', 'the late create of a resolved dispute is recorded');
select is((tests.rv(:'r2')).payment_status, 'pending', 'and changes nothing');
select is(tests.rv_event('charge.success', 'o2-c', :'r2'), 'investment_confirmed', 'the charge then confirms as usual');

select tests.rv_investment(:'u', :'tok', 'pending') as r3 \gset
select is(tests.rv_event('charge.dispute.create', 'd3', :'r3'), 'dispute_recorded', 'a dispute before its charge');
select is(tests.rv_event('charge.success', 'o3-c', :'r3'), 'ignored', 'the charge of a disputed investment confirms nothing');
select is(tests.rv_event('charge.dispute.resolve', 'd3', :'r3', '{"resolution": "declined"}'), 'dispute_resolved', 'the merchant wins');
select is((tests.rv(:'r3')).payment_status, 'confirmed', 'the won dispute confirms it, as the charge said');

select tests.rv_investment(:'u', :'tok', 'pending') as r4 \gset
select is(tests.rv_event('charge.dispute.create', 'd4', :'r4'), 'dispute_recorded', 'a dispute before an underpaid charge');
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'o4-c', 'reference', :'r4', 'amount', 500, 'currency', 'NGN'))) ->> 'outcome', 'ignored', 'the underpaid charge is remembered');
select is(tests.rv_event('charge.dispute.resolve', 'd4', :'r4', '{"resolution": "declined"}'), 'dispute_resolved', 'the merchant wins');
select is((tests.rv(:'r4')).payment_status, 'amount_mismatch', 'a won dispute does not make an underpayment whole');

select tests.rv_investment(:'u', :'tok', 'pending') as r5 \gset
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'o5-c', 'reference', :'r5', 'amount', 1000, 'requested_amount', 2000, 'currency', 'NGN'))) ->> 'outcome',
  'amount_mismatch', 'a partial debit (requested_amount <> amount) is amount_mismatch');
select tests.rv_investment(:'u', :'tok', 'pending') as r6 \gset
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'o6-c', 'reference', :'r6', 'amount', 1000, 'requested_amount', 1000, 'currency', 'NGN'))) ->> 'outcome',
  'investment_confirmed', 'requested_amount equal to amount confirms');
select is(public.record_paystack_event(jsonb_build_object('event', 'refund.processed', 'data',
  jsonb_build_object('id', 'o7-r', 'transaction_reference', 'REV-nobody', 'amount', '1000'))) ->> 'outcome',
  'unknown_reference', 'a refund of an unknown reference is recorded as unknown_reference');

-- Claims and failed transfers under a reversal -----------------------------------------------------
select tests.clear_authentication();
update app.investments set payment_status = 'failed' where payment_status = 'confirmed' and user_id = :'u';
select tests.authenticate_as_service();
select tests.rv_investment(:'u', :'tok', 'confirmed') as h1 \gset
select is(tests.rv_event('refund.pending', 'h1-p', :'h1'), 'refund_recorded', 'a refund starts on a confirmed investment');
select is(public.claim_token_distributions('rev-w', '0x6666666666666666666666666666666666666666', 88888, 0), '[]'::jsonb,
  'a confirmed investment with a refund in progress is not claimed');
select is(tests.rv_event('refund.failed', 'h1-f', :'h1'), 'refund_recorded', 'the refund fails');
select is(jsonb_array_length(public.claim_token_distributions('rev-w', '0x6666666666666666666666666666666666666666', 88888, 0)), 1,
  'after a failed refund it is claimed');
select is((tests.rv(:'h1')).payment_status, 'distributing', 'it is distributing');
select is(tests.rv_event('refund.processed', 'h1-r', :'h1'), 'refund_recorded', 'a refund processed while the transfer is in flight');
select is((select r.payment_status || '/' || r.reversal from tests.rv(:'h1') r), 'distributing/refund', 'changes nothing on chain, raises the alert');
select ok(exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) a
                   where a ->> 'kind' = 'refund_after_distribution'
                     and a ->> 'investment_id' = (tests.rv(:'h1')).id::text),
  'admin_token_alerts lists refund_after_distribution');
select public.fail_token_transfer((tests.rv(:'h1')).transfer_id, 'dropped', false);
select is((tests.rv(:'h1')).payment_status, 'refunded',
  'the failed transfer of a refunded investment makes it refunded, never claimable again');
select is(public.claim_token_distributions('rev-w', '0x6666666666666666666666666666666666666666', 88888, 0), '[]'::jsonb,
  'so nothing is claimed');
select ok(not exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) a
                       where a ->> 'investment_id' = (tests.rv(:'h1')).id::text),
  'and its alert is gone: no tokens went out');
select tests.rv_investment(:'u', :'tok', 'disputed') as h2 \gset
select is(public.claim_token_distributions('rev-w', '0x6666666666666666666666666666666666666666', 88888, 0), '[]'::jsonb,
  'a disputed investment is never claimed');

-- admin_resolve_investment ----------------------------------------------------------------------
select tests.rv_investment(:'u', :'tok', 'pending') as a1 \gset
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'a1-c', 'reference', :'a1', 'amount', 1500, 'currency', 'NGN'))) ->> 'outcome',
  'amount_mismatch', 'an overpayment is amount_mismatch');
select tests.rv_investment(:'u', :'tok', 'pending') as a2 \gset
select is(public.record_paystack_event(jsonb_build_object('event', 'charge.success', 'data',
  jsonb_build_object('id', 'a2-c', 'reference', :'a2', 'amount', 999, 'currency', 'NGN'))) ->> 'outcome',
  'amount_mismatch', 'an underpayment is amount_mismatch');
select tests.clear_authentication();
select (select id from app.investments where reference = :'a1') as a1id \gset
select (select id from app.investments where reference = :'a2') as a2id \gset
select (select id from app.investments where reference = :'r5') as r5id \gset
select (select id from cases c join app.investments i on i.reference = c.ref
         where c.state = 'tokens_distributed' and c.ev = 'refund.processed') as tdid \gset
select (select id from cases c join app.investments i on i.reference = c.ref
         where c.state = 'confirmed' and c.ev = 'refund.failed') as confid \gset
select (select id from cases c join app.investments i on i.reference = c.ref
         where c.state = 'confirmed' and c.ev = 'charge.dispute.create') as dispid \gset
select tests.rv_investment(:'u', :'tok', 'pending') as p1 \gset
select (select id from app.investments where reference = :'p1') as p1id \gset

select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_resolve_investment(:'a1id', 'accept', 'paid 15.00 for 10.00; keeping the difference as credit') ->> 'payment_status',
  'confirmed', 'accept: an amount_mismatch paid at least its amount is confirmed');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'accept')$$, :'a2id'), 'PT409', null, 'accept: an underpaid one is PT409');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'accept')$$, :'confid'), 'PT409', null, 'accept: a confirmed one is PT409');
select is(public.admin_resolve_investment(:'a2id', 'cancel', 'underpaid; refunding by hand') ->> 'payment_status', 'failed', 'cancel: amount_mismatch becomes failed');
select is(public.admin_resolve_investment(:'p1id', 'cancel') ->> 'payment_status', 'failed', 'cancel: pending becomes failed');
select is(public.admin_resolve_investment(:'dispid', 'cancel') ->> 'payment_status', 'failed', 'cancel: disputed becomes failed');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'cancel')$$, :'confid'), 'PT409', null, 'cancel: a confirmed one is PT409');
select ok(exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) a
                   where a ->> 'kind' = 'refund_after_distribution' and a ->> 'investment_id' = :'tdid'),
  'a refund after distribution is listed');
select is(public.admin_resolve_investment(:'tdid', 'acknowledge', 'recovered off-platform') ->> 'acknowledged', 'true', 'acknowledge clears the alert');
select ok(not exists (select 1 from jsonb_array_elements(public.admin_token_alerts()) a where a ->> 'investment_id' = :'tdid'),
  'the acknowledged alert is no longer listed');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'acknowledge')$$, :'tdid'), 'PT409', null, 'acknowledge twice is PT409');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'acknowledge')$$, :'confid'), 'PT409', null, 'acknowledge without an alert is PT409');
select throws_ok($$select public.admin_resolve_investment(gen_random_uuid(), 'cancel')$$, 'PT404', null, 'an unknown investment is PT404');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'refund')$$, :'confid'), 'PT400', null, 'an unknown action is PT400');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'cancel', repeat('x', 3000))$$, :'r5id'), 'PT400', null, 'an oversized note is PT400');
select tests.clear_authentication();
select is((select count(*)::int from app.admin_audit where action like 'resolve_investment:%'
            and target ->> 'investment_id' in (:'a1id', :'a2id', :'p1id', :'dispid', :'tdid')), 5, 'each resolution wrote an audit row');
select is((select target ->> 'note' from app.admin_audit where action = 'resolve_investment:accept'
            and target ->> 'investment_id' = :'a1id'), 'paid 15.00 for 10.00; keeping the difference as credit', 'with its note');

select tests.authenticate_as(:'adm', 'aal1');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'cancel')$$, :'r5id'), '42501', null, 'admin without MFA (aal1) cannot resolve');
select tests.authenticate_as(:'u');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'cancel')$$, :'r5id'), '42501', null, 'an investor cannot resolve');
select tests.authenticate_as_anon();
select throws_ok(format($$select public.admin_resolve_investment(%L, 'cancel')$$, :'r5id'), '42501', null, 'anon cannot resolve');
select tests.authenticate_as_service();
select is(public.admin_resolve_investment(:'r5id', 'cancel') ->> 'payment_status', 'failed', 'the service can resolve');

-- The investor's history -------------------------------------------------------------------------
select tests.authenticate_as(:'u');
select is((select jsonb_agg(e ->> 'event') from public.my_investments m, jsonb_array_elements(m.events) e where m.reference = :'h1'),
  '["refund.pending", "refund.failed", "refund.processed"]'::jsonb, 'my_investments shows the events of an investment, in order');
select is((select jsonb_agg(e ->> 'outcome') from public.my_investments m, jsonb_array_elements(m.events) e where m.reference = :'r1'),
  '["refund_recorded", "ignored"]'::jsonb, 'with what each did');
select is((select payment_status from public.my_investments where reference = :'r1'), 'refunded', 'and the status');
select throws_ok($$select payload from app.paystack_events$$, '42501', null, 'an investor never reads an event''s payload');

-- A new event is written once, with its outcome; a retry writes nothing (this transaction's own
-- counts, in pg_stat_xact_user_tables).
select tests.authenticate_as_service();
select tests.rv_investment(:'u', :'tok', 'pending') as w1 \gset
select n_tup_ins as ins0, n_tup_upd as upd0 from pg_stat_xact_user_tables
 where schemaname = 'app' and relname = 'paystack_events' \gset
select is(tests.rv_event('charge.success', 'one-write-1', :'w1'), 'investment_confirmed', 'a new charge confirms');
select is(tests.rv_event('charge.success', 'one-write-1', :'w1'), 'duplicate', 'its retry is a duplicate');
select is((select array[n_tup_ins - :ins0, n_tup_upd - :upd0] from pg_stat_xact_user_tables
            where schemaname = 'app' and relname = 'paystack_events'), array[1, 0]::bigint[],
  'the event was inserted once with its outcome and never updated; the retry wrote nothing');
select tests.clear_authentication();

select * from finish();
rollback;
