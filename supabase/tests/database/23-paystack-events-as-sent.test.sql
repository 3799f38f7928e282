-- Paystack events as Paystack sends them (tests.paystack_event: the published shapes): the
-- identity rule, nothing signed refused, needs-attention and partial refunds, the Paystack alerts
-- with their ways out, and the verify sweep's RPCs (roles, errors, exactly once with the webhook).
begin;
select plan(84);

select tests.create_user('ps-investor@test.io') as u \gset
select tests.create_user('ps-admin@test.io', true) as adm \gset
update app.profiles set kyc_status = 'verified', wallet_address = '0x7777777777777777777777777777777777777777'
 where user_id = :'u';
-- Nothing else is claimable here, and no other pending investment is old.
update app.investments set payment_status = 'failed', transfer_id = null
 where payment_status in ('confirmed', 'distributing');
update app.investments set payment_status = 'failed' where payment_status = 'pending';
update app.settings set value = 'off' where key = 'auto_distribute';
select tests.authenticate_as_service();
select public.admin_register_tokenization('PS-PROP', '0x8888888888888888888888888888888888888888', 77777, 10) ->> 'tokenization_id' as tok \gset
select tests.clear_authentication();

-- An investment of p_tokens tokens at 10.00 each (1000 kobo a token) in a given state.
create function tests.ps_investment(p_user uuid, p_tok uuid, p_status text, p_tokens int default 1)
returns text language plpgsql security definer set search_path = '' as $$
declare
  v_ref text := 'PS-' || gen_random_uuid();
begin
  insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency,
    reference, payment_status)
  values (p_user, p_tok, p_tokens, 10 * p_tokens, 1000 * p_tokens, 'NGN', v_ref, p_status);
  return v_ref;
end $$;
create function tests.ps(p_ref text) returns app.investments
language sql security definer set search_path = '' as $$
  select * from app.investments where reference = p_ref
$$;
create function tests.ps_alerts(p_kind text) returns setof jsonb
language sql security definer set search_path = '' as $$
  select a from jsonb_array_elements(public.admin_token_alerts()) a where a ->> 'kind' = p_kind
$$;
create function tests.ps_events() returns setof app.paystack_events
language sql security definer set search_path = '' as $$
  select * from app.paystack_events
$$;
grant execute on function tests.ps_investment(uuid, uuid, text, int), tests.ps(text),
  tests.ps_alerts(text), tests.ps_events() to service_role, authenticated, anon;

select tests.authenticate_as_service();

-- Identity ---------------------------------------------------------------------------------------
select tests.ps_investment(:'u', :'tok', 'confirmed') as i1 \gset
select tests.paystack_event('refund.processed', jsonb_build_object('transaction_reference', :'i1', 'amount', '1000')) as rp1 \gset
select is(public.record_paystack_event(:'rp1') ->> 'outcome', 'refund_recorded',
  'the published refund.processed (no data.id, amount a string) is applied');
select is((tests.ps(:'i1')).payment_status, 'refunded', 'and refunds the whole investment');
select is(public.record_paystack_event(:'rp1') ->> 'outcome', 'duplicate', 'its redelivery is a duplicate');
select is((select event_id from tests.ps_events() where investment_id = (tests.ps(:'i1')).id),
  'sha256:' || encode(sha256(convert_to((:'rp1'::jsonb -> 'data')::text, 'UTF8')), 'hex'),
  'an event without data.id is identified by the digest of its data');
select is(public.record_paystack_event(tests.paystack_event('refund.processed',
    jsonb_build_object('transaction_reference', :'i1', 'amount', 1000))) ->> 'outcome', 'refund_recorded',
  'the same refund written with a number is another body: recorded, changes nothing more');
select is(public.record_paystack_event(tests.paystack_event('refund.pending',
    jsonb_build_object('transaction_reference', 'PS-nobody', 'id', 'rfnd_string_id'), true)) ->> 'outcome',
  'unknown_reference', 'a refund that carries a string id');
select is((select count(*)::int from tests.ps_events() where event_type = 'refund.pending' and event_id = 'rfnd_string_id'), 1,
  'is identified by it');

select tests.ps_investment(:'u', :'tok', 'pending') as i2 \gset
select is(public.record_paystack_event(tests.paystack_event('charge.success',
    jsonb_build_object('id', 880001, 'reference', :'i2', 'amount', 1000))) ->> 'outcome', 'investment_confirmed',
  'the published charge.success confirms');
select is(public.record_paystack_event(tests.paystack_event('charge.success',
    jsonb_build_object('id', 880001, 'reference', :'i2', 'amount', 1000, 'paid_at', '2026-11-20T09:15:00.000Z'))) ->> 'outcome',
  'duplicate', 'a charge with the same data.id is the same event, whatever else differs');
select tests.clear_authentication();
update app.investments set payment_status = 'failed' where reference = :'i2'; -- out of the claims below
select tests.authenticate_as_service();

select tests.ps_investment(:'u', :'tok', 'confirmed') as i3 \gset
select tests.paystack_event('charge.dispute.create', jsonb_build_object('id', 880101, 'transaction.reference', :'i3')) as dc \gset
select is((:'dc'::jsonb -> 'data' -> 'transaction_reference'), 'null'::jsonb, 'the published dispute carries transaction_reference null');
select is(public.record_paystack_event(:'dc') ->> 'outcome', 'dispute_recorded', 'and is applied');
select is((tests.ps(:'i3')).payment_status, 'disputed', 'it disputes the investment');
select is(public.record_paystack_event(tests.paystack_event('charge.dispute.remind',
    jsonb_build_object('id', 880101, 'transaction.reference', :'i3'))) ->> 'outcome', 'dispute_recorded',
  'its remind (the same dispute id) is another event');

-- Nothing signed is refused ------------------------------------------------------------------------
select public.record_paystack_event('{"event": "charge.success", "data": "x"}') as not_object \gset
select is((:'not_object'::jsonb) ->> 'reason', 'data is not an object',
  'data that is not an object: unprocessable, with the reason');
select is(public.record_paystack_event('[1, 2]') ->> 'reason', 'no event type', 'a body that is not an event object');
select is(public.record_paystack_event(null, 'not json at all') ->> 'outcome', 'unprocessable', 'a body that is not JSON');
select is(public.record_paystack_event(null, 'not json at all') ->> 'outcome', 'duplicate', 'its redelivery (the raw body''s digest)');
select is(public.record_paystack_event(jsonb_build_object('event', repeat('e', 5000), 'data', '{}'::jsonb)) ->> 'outcome',
  'ignored', 'an over-long unknown type is stored and ignored');
select ok((select max(length(event_type)) <= 100 and max(length(event_id)) <= 100 from tests.ps_events()),
  'every stored key is bounded');
select is(public.record_paystack_event(tests.paystack_event('charge.success',
    jsonb_build_object('id', 880002, 'reference', :'i2', 'amount', 1.5))) ->> 'reason',
  'data.amount is not a whole number of kobo', 'a fractional amount is unprocessable, never rounded');
select is(public.record_paystack_event(tests.paystack_event('charge.success',
    jsonb_build_object('id', 880003, 'reference', :'i2', 'amount', 'NaN'))) ->> 'outcome',
  'unprocessable', 'NaN as an amount is unprocessable');
select is(public.record_paystack_event('{"event": "transfer.success", "data": {"id": 880004}}') ->> 'outcome', 'ignored',
  'an event type we do not act on is ignored');

-- refund.needs-attention ---------------------------------------------------------------------------
select tests.ps_investment(:'u', :'tok', 'confirmed') as n1 \gset
select is(public.record_paystack_event(tests.paystack_event('refund.needs-attention',
    jsonb_build_object('transaction_reference', :'n1', 'amount', '1000'))) ->> 'outcome', 'refund_recorded',
  'refund.needs-attention is applied');
select is((tests.ps(:'n1')).refund_hold, 'needs_attention', 'it holds the investment');
select is(public.claim_token_distributions('ps-w', '0x6666666666666666666666666666666666666666', 77777, 0), '[]'::jsonb,
  'a held investment is never claimed');
select is((select count(*)::int from tests.ps_alerts('refund_needs_attention') a where a ->> 'investment_id' = (tests.ps(:'n1')).id::text), 1,
  'admin_token_alerts lists refund_needs_attention');
select is(public.record_paystack_event(tests.paystack_event('refund.processing',
    jsonb_build_object('transaction_reference', :'n1', 'amount', '1000'))) ->> 'outcome', 'refund_recorded', 'then processing');
select is((tests.ps(:'n1')).refund_hold, 'needs_attention', 'keeps the attention hold until the refund ends');
select is(public.record_paystack_event(tests.paystack_event('refund.failed',
    jsonb_build_object('transaction_reference', :'n1', 'amount', 1000))) ->> 'outcome', 'refund_recorded', 'the refund fails');
select is((tests.ps(:'n1')).refund_hold, null, 'the money stayed: released');
select is(jsonb_array_length(public.claim_token_distributions('ps-w', '0x6666666666666666666666666666666666666666', 77777, 0)), 1,
  'and it is claimed');

-- Partial refunds ----------------------------------------------------------------------------------
select tests.ps_investment(:'u', :'tok', 'confirmed', 4) as p1 \gset
select is(public.record_paystack_event(tests.paystack_event('refund.processed',
    jsonb_build_object('transaction_reference', :'p1', 'amount', '1500', 'refund_reference', 'RF-p1-a'))) ->> 'payment_status',
  'confirmed', 'a refund of part of the money does not refund the investment');
select is((tests.ps(:'p1')).refund_hold, 'partial', 'it holds it');
select is(public.claim_token_distributions('ps-w', '0x6666666666666666666666666666666666666666', 77777, 0), '[]'::jsonb,
  'never the full tokens for part of the money');
select is((select a ->> 'refunded_kobo' from tests.ps_alerts('partial_refund') a where a ->> 'investment_id' = (tests.ps(:'p1')).id::text),
  '1500', 'partial_refund names what went back');
select tests.ps_investment(:'u', :'tok', 'confirmed', 4) as p2 \gset
select public.record_paystack_event(tests.paystack_event('refund.processed',
  jsonb_build_object('transaction_reference', :'p2', 'amount', '1500', 'refund_reference', 'RF-p2-a')));
select is(public.record_paystack_event(tests.paystack_event('refund.processed',
    jsonb_build_object('transaction_reference', :'p2', 'amount', '2500', 'refund_reference', 'RF-p2-b'))) ->> 'payment_status',
  'refunded', 'partial refunds that add up to all of it refund the investment');
select tests.ps_investment(:'u', :'tok', 'confirmed', 1) as p3 \gset
select public.record_paystack_event(tests.paystack_event('refund.processed',
  jsonb_build_object('transaction_reference', :'p3', 'amount', '500')));
select tests.ps_investment(:'u', :'tok', 'confirmed', 2) as p4 \gset
select public.record_paystack_event(tests.paystack_event('refund.processed',
  jsonb_build_object('transaction_reference', :'p4', 'amount', '700')));
select tests.ps_investment(:'u', :'tok', 'confirmed', 2) as p5 \gset
select is(public.record_paystack_event(tests.paystack_event('refund.processed',
    jsonb_build_object('transaction_reference', :'p5', 'amount', '12.5'))) ->> 'reason',
  'data.amount is not a whole number of kobo', 'a processed refund whose amount cannot be read is unprocessable');
select is((tests.ps(:'p5')).refund_hold, 'needs_attention', 'and holds the investment for a person, never guessing');
select tests.clear_authentication();

select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_resolve_investment((tests.ps(:'p1')).id, 'accept', 'kept 25.00: 2 tokens') ->> 'tokens', '2',
  'accept: the tokens the kept money pays for (2500 kobo, 2 tokens at 10.00)');
select is((select array[r.amount::text, r.amount_subunit::text, coalesce(r.refund_hold, 'none')] from tests.ps(:'p1') r),
  array['25.00', '4000', 'none'], 'its amount becomes what was kept (the charge stays as charged), the hold is released');
select tests.clear_authentication();
select tests.authenticate_as_service();
select is(public.record_paystack_event(tests.paystack_event('refund.processed',
    jsonb_build_object('transaction_reference', :'p1', 'amount', '1000', 'refund_reference', 'RF-p1-b'))) ->> 'payment_status',
  'confirmed', 'a second partial refund after the accept (2500 of 4000 back) is still partial, never a full refund');
select is((tests.ps(:'p1')).refund_hold, 'partial', 'and holds it again');
select tests.clear_authentication();
select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_resolve_investment((tests.ps(:'p1')).id, 'accept', 'kept 15.00: 1 token') ->> 'tokens', '1',
  'accepting again: the tokens the 1500 kobo still kept pay for');
select throws_ok(format($$select public.admin_resolve_investment(%L, 'accept')$$, (tests.ps(:'p3')).id), 'PT409', null,
  'accept: money kept that pays for no token is PT409');
select is(public.admin_resolve_investment((tests.ps(:'p3')).id, 'cancel', 'refund the rest by hand') ->> 'payment_status', 'failed',
  'cancel: a partially refunded investment becomes failed');
select is(public.admin_resolve_investment((tests.ps(:'p5')).id, 'accept', 'checked: nothing went back') ->> 'refund_hold', null,
  'accept: a needs-attention hold is released');
select tests.clear_authentication();
select is((select count(*)::int from app.admin_audit where action like 'resolve_investment:%'
            and target ->> 'investment_id' in ((tests.ps(:'p1')).id::text, (tests.ps(:'p3')).id::text, (tests.ps(:'p5')).id::text)), 4,
  'each resolution is audited');
select tests.authenticate_as_service();
select is(jsonb_array_length(public.claim_token_distributions('ps-w', '0x6666666666666666666666666666666666666666', 77777, 0)), 1,
  'the accepted ones are claimed, once, per investor');
select is((select sum(i.tokens)::int from (select (tests.ps(:'p1')).tokens union all select (tests.ps(:'p5')).tokens) i(tokens)), 3,
  'for 1 + 2 tokens');

-- Alerts and their ways out --------------------------------------------------------------------------
select public.record_paystack_event(tests.paystack_event('refund.processed',
  jsonb_build_object('transaction_reference', 'PS-not-ours', 'amount', '1000'))) ->> 'event_id' as ev_unknown \gset
select is((select a ->> 'outcome' from tests.ps_alerts('paystack_event_unprocessable') a where (a ->> 'event_id')::bigint = :ev_unknown),
  'unknown_reference', 'a refund of an unknown reference is listed as paystack_event_unprocessable');
select is((select a ->> 'reason' from tests.ps_alerts('paystack_event_unprocessable') a
            where a ->> 'event_id' = (:'not_object'::jsonb) ->> 'event_id'),
  'data is not an object', 'with the reason of an unprocessable charge');
select ok(not exists (select 1 from tests.ps_alerts('paystack_event_unprocessable') a where a ->> 'event_type' = 'transfer.success'),
  'an ignored type raises nothing');
select tests.ps_investment(:'u', :'tok', 'pending') as old1 \gset
select tests.clear_authentication();
update app.investments set created_at = now() - interval '2 days' where reference = :'old1';
select tests.authenticate_as_service();
select is((select count(*)::int from tests.ps_alerts('payment_unverified') a where a ->> 'reference' = :'old1'), 1,
  'a payment pending past paystack_payment_window is payment_unverified');
select is((select count(*)::int from tests.ps_alerts('webhook_silent')), 0, 'while events arrive, the webhook is not silent');
select tests.clear_authentication();
update app.paystack_events set received_at = received_at - interval '7 hours';
select tests.authenticate_as_service();
select is((select (a ->> 'pending')::int from tests.ps_alerts('webhook_silent') a), 1,
  'no signed event for 6 hours while payments wait: webhook_silent');
select public.record_paystack_event(tests.paystack_event('charge.success', jsonb_build_object('id', 880009, 'reference', 'PS-x', 'amount', 1)));
select is((select count(*)::int from tests.ps_alerts('webhook_silent')), 0, 'a new signed event clears it');
select tests.clear_authentication();

select tests.authenticate_as(:'adm', 'aal1');
select throws_ok(format($$select public.admin_dismiss_paystack_event(%s)$$, :ev_unknown), '42501', null, 'dismiss needs MFA');
select is(public.admin_paystack_event(:ev_unknown) ->> 'reason', null, 'an admin reads a stored event (aal1 suffices)');
select ok(public.admin_paystack_event(:ev_unknown) ? 'payload', 'with its payload');
select tests.authenticate_as(:'u');
select throws_ok(format($$select public.admin_dismiss_paystack_event(%s)$$, :ev_unknown), '42501', null, 'an investor cannot dismiss');
select throws_ok(format($$select public.admin_paystack_event(%s)$$, :ev_unknown), '42501', null, 'nor read a stored event');
select tests.authenticate_as_anon();
select throws_ok(format($$select public.admin_dismiss_paystack_event(%s)$$, :ev_unknown), '42501', null, 'anon cannot dismiss');
select tests.authenticate_as(:'adm', 'aal2');
select is(public.admin_dismiss_paystack_event(:ev_unknown, 'refunded on the dashboard') ->> 'dismissed', 'true', 'an admin with MFA dismisses it');
select ok(not exists (select 1 from tests.ps_alerts('paystack_event_unprocessable') a where (a ->> 'event_id')::bigint = :ev_unknown),
  'the alert is gone');
select throws_ok(format($$select public.admin_dismiss_paystack_event(%s)$$, :ev_unknown), 'PT409', null, 'dismissing twice is PT409');
select throws_ok($$select public.admin_dismiss_paystack_event(-1)$$, 'PT404', null, 'an unknown event is PT404');
select throws_ok(format($$select public.admin_dismiss_paystack_event(%s)$$,
  (select id from tests.ps_events() where event_type = 'transfer.success' and event_id = '880004')), 'PT409', null,
  'an ignored event has nothing to dismiss');
select tests.clear_authentication();
insert into app.paystack_events (event_type, event_id, payload) values ('charge.success', 'no-outcome-1', '{}')
returning id as ev_no_outcome \gset
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok(format($$select public.admin_dismiss_paystack_event(%s)$$, :ev_no_outcome), 'PT409', null,
  'an event with no outcome has nothing to dismiss');
select throws_ok($$select public.admin_paystack_event(-1)$$, 'PT404', null, 'reading an unknown event is PT404');
select tests.clear_authentication();
select is((select count(*)::int from app.admin_audit where action = 'dismiss_paystack_event' and (target ->> 'event_id')::bigint = :ev_unknown), 1,
  'the dismissal is audited');

-- The verify sweep's RPCs ----------------------------------------------------------------------------
select tests.authenticate_as_service();
select tests.ps_investment(:'u', :'tok', 'pending', 3) as v1 \gset
select tests.ps_investment(:'u', :'tok', 'pending', 3) as v2 \gset
select tests.clear_authentication();
update app.investments set created_at = now() - interval '31 days' where reference in (:'v1', :'v2');
select tests.authenticate_as_service();
select is((select array_agg(reference order by reference) from public.paystack_payments_to_verify('30 days', 10)),
  (select array_agg(r order by r) from unnest(array[:'v1', :'v2']) r),
  'the sweep claims the pending investments old enough');
select is((select count(*)::int from public.paystack_payments_to_verify('30 days', 10)), 0,
  'and does not ask about them again within the interval');
select throws_ok($$select * from public.paystack_payments_to_verify(null, 0)$$, 'PT400', null, 'p_limit 0 is PT400');
select throws_ok($$select * from public.paystack_payments_to_verify(null, 501)$$, 'PT400', null, 'p_limit over 500 is PT400');
select is(public.record_paystack_verification(:'v1', jsonb_build_object('reference', 'other', 'status', 'success')) ->> 'outcome',
  'unprocessable', 'an answer about another reference applies nothing');
select is(public.record_paystack_verification(:'v1', (tests.paystack_event('charge.success',
    jsonb_build_object('reference', :'v1', 'status', 'abandoned')) -> 'data')) ->> 'outcome',
  'still_pending', 'an abandoned transaction leaves it pending');
select is(public.record_paystack_verification(:'v1', (tests.paystack_event('charge.success',
    jsonb_build_object('id', 880201, 'reference', :'v1', 'amount', 3000)) -> 'data')) ->> 'outcome',
  'investment_confirmed', 'a verified success confirms, as the webhook would');
select is((select source from tests.ps_events() where event_type = 'charge.success' and event_id = '880201'), 'verify',
  'stored as that charge.success, from the sweep');
select is(public.record_paystack_event(tests.paystack_event('charge.success',
    jsonb_build_object('id', 880201, 'reference', :'v1', 'amount', 3000))) ->> 'outcome',
  'duplicate', 'the late webhook of a verified charge is a duplicate');
select is(public.record_paystack_verification(:'v2', (tests.paystack_event('charge.success',
    jsonb_build_object('id', 880202, 'reference', :'v2', 'amount', 2000)) -> 'data')) ->> 'outcome',
  'amount_mismatch', 'a wrong amount in the verify answer is amount_mismatch');
select tests.authenticate_as(:'adm', 'aal2');
select throws_ok($$select * from public.paystack_payments_to_verify()$$, '42501', null, 'an admin cannot claim for the sweep');
select throws_ok($$select public.record_paystack_verification('x', '{}')$$, '42501', null, 'nor record a verification');
select tests.authenticate_as(:'u');
select throws_ok($$select * from public.paystack_payments_to_verify()$$, '42501', null, 'an investor cannot claim for the sweep');
select tests.authenticate_as_anon();
select throws_ok($$select public.record_paystack_verification('x', '{}')$$, '42501', null, 'anon cannot record a verification');
select tests.clear_authentication();

select * from finish();
rollback;
