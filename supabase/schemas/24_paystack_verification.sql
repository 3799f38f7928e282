-- Missed webhooks: the verify sweep (edge function verify-pending-payments, run by pg_cron) asks
-- Paystack about investments still pending, and the Paystack alerts that admin_token_alerts lists.
--
-- Guarantees:
-- - A verified success is applied exactly as the webhook's charge.success (the same checks: amount,
--   currency, requested_amount), stored as that event with source 'verify' under the same identity
--   (charge.success, the transaction's id): the webhook arriving later is a duplicate, and so is a
--   verification after the webhook. Nothing is applied twice.
-- - Only an answer of Paystack's own moves money: an error or a timeout leaves the investment
--   pending (the function counts it), never read as "not paid".

-- Claims up to p_limit pending investments for one sweep call: created more than p_older_than ago
-- and not asked about within it, least recently asked first. Concurrent sweeps skip each other's.
create or replace function public.paystack_payments_to_verify(p_older_than interval default null,
  p_limit int default 50)
returns table (investment_id uuid, reference text)
language plpgsql
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_after interval := coalesce(p_older_than, app.setting('paystack_verify_after')::interval);
begin
  perform app.require_service('only the service role runs the verify sweep');
  if p_limit is null or p_limit < 1 or p_limit > 500 then
    perform app.fail('PT400', 'p_limit must be between 1 and 500');
  end if;
  if v_after < interval '0' then
    perform app.fail('PT400', 'p_older_than must not be negative');
  end if;
  return query
    with due as (
      select i.id
        from app.investments i
       where i.payment_status = 'pending'
         and i.created_at <= now() - v_after
         and (i.verify_checked_at is null or i.verify_checked_at <= now() - v_after)
       order by i.verify_checked_at nulls first, i.created_at
       limit p_limit
         for update skip locked
    )
    update app.investments i set verify_checked_at = now()
      from due where i.id = due.id
    returning i.id, i.reference;
end
$$;
comment on function public.paystack_payments_to_verify(interval, int) is
  'Service (verify-pending-payments): claims up to p_limit (1-500) investments still pending after '
  'p_older_than (default the setting paystack_verify_after) and not asked about within it, least '
  'recently asked first; returns (investment_id, reference) rows to verify with Paystack.';
revoke all on function public.paystack_payments_to_verify(interval, int) from public;
grant execute on function public.paystack_payments_to_verify(interval, int) to service_role;

create or replace function public.record_paystack_verification(p_reference text, p_transaction jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role records verifications');
  if pg_catalog.jsonb_typeof(p_transaction) is distinct from 'object'
     or p_transaction ->> 'reference' is distinct from p_reference then
    return jsonb_build_object('outcome', 'unprocessable',
      'reason', 'the answer is not a transaction of this reference');
  end if;
  if p_transaction ->> 'status' is distinct from 'success' then
    -- abandoned, failed, ongoing, pending, reversed...: nothing paid (yet).
    return jsonb_build_object('outcome', 'still_pending', 'paystack_status', p_transaction ->> 'status');
  end if;
  return app.record_paystack_event(
    jsonb_build_object('event', 'charge.success', 'data', p_transaction), null, 'verify');
end
$$;
comment on function public.record_paystack_verification(text, jsonb) is
  'Service (verify-pending-payments): applies Paystack''s answer to GET /transaction/verify/:reference '
  '(its data object) for p_reference. A successful transaction is recorded and applied exactly as a '
  'charge.success webhook (same identity and checks: a later webhook is duplicate); any other status is '
  '{"outcome":"still_pending"}. Returns record_paystack_event''s answer otherwise.';
revoke all on function public.record_paystack_verification(text, jsonb) from public;
grant execute on function public.record_paystack_verification(text, jsonb) to service_role;

-- The Paystack rows of admin_token_alerts: what a person must look at in the payment pipeline.
create or replace function app.paystack_alerts()
returns setof jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_window interval := app.setting('paystack_payment_window')::interval;
  v_silence interval := app.setting('paystack_silence_alert_after')::interval;
  v_last_event timestamptz := (select max(e.received_at) from app.paystack_events e
                                where e.source = 'webhook');
begin
  return query
    -- A signed charge, refund or dispute that could not be applied.
    select jsonb_build_object('kind', 'paystack_event_unprocessable', 'event_id', e.id,
             'event_type', e.event_type, 'reference', e.reference, 'outcome', e.outcome,
             'reason', coalesce(e.reason, 'no investment has this reference'),
             'investment_id', e.investment_id, 'since', e.received_at,
             'hint', 'check it on Paystack''s dashboard, then admin_dismiss_paystack_event')
      from app.paystack_events e
     where e.outcome = any (app.unapplied_outcomes()) and e.dismissed_at is null
       and app.paystack_applies(e.event_type)
    union all
    select jsonb_build_object('kind', case i.refund_hold when 'partial' then 'partial_refund'
                                                          else 'refund_needs_attention' end,
             'investment_id', i.id, 'user_id', i.user_id, 'payment_status', i.payment_status,
             'paid_kobo', i.amount_subunit, 'refunded_kobo', app.refunded_kobo(i.id)::text,
             'currency', i.currency, 'since', i.refund_hold_since,
             'hint', case i.refund_hold
               when 'partial' then 'admin_resolve_investment: accept (tokens for the money kept) or cancel'
               else 'Paystack needs action on this refund (its dashboard); then admin_resolve_investment '
                    || 'accept (the money stayed) or cancel' end)
      from app.investments i
     where i.refund_hold in ('partial', 'needs_attention')
    union all
    select jsonb_build_object('kind', 'payment_unverified', 'investment_id', i.id, 'user_id', i.user_id,
             'reference', i.reference, 'amount_kobo', i.amount_subunit, 'currency', i.currency,
             'since', i.created_at, 'last_verified_at', i.verify_checked_at,
             'hint', 'no payment seen on Paystack; cancel with admin_resolve_investment if none comes')
      from app.investments i
     where i.payment_status = 'pending' and i.created_at < now() - v_window
    union all
    select jsonb_build_object('kind', 'webhook_silent', 'last_event_at', v_last_event,
             'pending', count(*), 'since', coalesce(v_last_event, min(i.created_at)),
             'hint', 'no signed Paystack event received: check the webhook URL and secret key on '
                     || 'Paystack''s dashboard (Settings, API Keys & Webhooks)')
      from app.investments i
     where i.payment_status = 'pending' and i.created_at < now() - v_silence
       and coalesce(v_last_event, '-infinity') < now() - v_silence
    having count(*) > 0;
end
$$;
