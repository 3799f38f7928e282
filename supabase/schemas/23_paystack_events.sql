-- Payments and token distribution: tokenizations, investments, Paystack events, transfers (the
-- outbox), nonces and holdings. Token quantities are integer base units: numeric(78,0).

-- Every signed Paystack event, once per identity (app.paystack_event_key): retries are
-- recognised, never re-applied. event_type and event_id are bounded keys (an over-long value is
-- stored as its digest), so no payload can exceed a btree key. payload is the event as jsonb can
-- hold it (sanitised by the webhook: no NUL, no lone surrogate, bounded depth); raw_body is the
-- body exactly as signed. outcome is what applying it did, reason why it could not be applied.
-- The outcomes of an event that could not be applied: it stays open (an alert) until an admin
-- dismisses it. Written once: the index of open ones, admin_dismiss_paystack_event and the alert.
-- A partial index reads it: see README, "Changing the database", before changing it.
create or replace function app.unapplied_outcomes()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['unprocessable', 'unknown_reference']
$$;

create table app.paystack_events (
  id bigint generated always as identity primary key,
  event_type text not null,
  event_id text not null,
  reference text,
  payload jsonb not null,
  outcome text,
  investment_id uuid,
  received_at timestamptz not null default now(),
  -- webhook: a signed delivery; verify: the sweep's answer from GET /transaction/verify.
  source text not null default 'webhook' check (source in ('webhook', 'verify')),
  reason text,
  raw_body text,
  -- An admin dismissed the alert of an event that could not be applied (admin_dismiss_paystack_event).
  dismissed_at timestamptz,
  unique (event_type, event_id)
);
-- paystack_event_unprocessable: the open ones.
create index paystack_events_unapplied on app.paystack_events (received_at)
  where outcome = any (app.unapplied_outcomes()) and dismissed_at is null;
-- webhook_silent: when the last signed delivery came.
create index paystack_events_webhook_received on app.paystack_events (received_at)
  where source = 'webhook';
alter table app.paystack_events enable row level security;
-- An investor reads the history of their own investments (public.my_investments): which event,
-- what it did, when. Never the payload (it names the customer).
-- (The subquery sees only the caller's own investments, through their policy.)
create policy paystack_events_owner_reads on app.paystack_events for select to authenticated
  using (investment_id in (select i.id from app.investments i));
create index paystack_events_investment on app.paystack_events (investment_id);
grant select (id, event_type, outcome, investment_id, received_at) on app.paystack_events
  to authenticated;
insert into app.settings (key, value) values
  -- The verify sweep asks Paystack about investments still pending this long after creation.
  ('paystack_verify_after', '10 minutes'),
  -- A pending investment older than this is payment_unverified (an alert).
  ('paystack_payment_window', '24 hours'),
  -- Investments pending and no signed event for this long: webhook_silent (an alert).
  ('paystack_silence_alert_after', '6 hours')
on conflict (key) do nothing;

-- The event types that move an investment; every other type is stored as `ignored`.
create or replace function app.paystack_applies(p_type text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_type in ('charge.success', 'refund.pending', 'refund.processing', 'refund.needs-attention',
                    'refund.processed', 'refund.failed', 'charge.dispute.create',
                    'charge.dispute.remind', 'charge.dispute.resolve')
$$;

-- A stored key: the value itself up to 100 characters, its digest beyond, so that no event can
-- exceed a btree key or be refused for its length.
create or replace function app.paystack_key(p_value text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when pg_catalog.length(p_value) <= 100 then p_value
              else 'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(p_value, 'UTF8')), 'hex')
         end
$$;

-- The event's type as a key ('' when the body names none).
create or replace function app.paystack_event_type(p_event jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select app.paystack_key(case when pg_catalog.jsonb_typeof(p_event -> 'event') = 'string'
                               then p_event ->> 'event' else '' end)
$$;

-- The second half of the identity: data.id when Paystack sends one (a number, or a non-empty
-- string); otherwise the digest of data (jsonb's text is canonical: the same body gives the same
-- digest), of the whole event when it has no data, of the raw body when it was not JSON.
create or replace function app.paystack_event_id(p_event jsonb, p_raw_body text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_data jsonb := case when pg_catalog.jsonb_typeof(p_event) = 'object' then p_event -> 'data' end;
  v_id text := case when pg_catalog.jsonb_typeof(v_data) = 'object'
                         and pg_catalog.jsonb_typeof(v_data -> 'id') in ('number', 'string')
                    then v_data ->> 'id' end;
begin
  if coalesce(v_id, '') <> '' then
    return app.paystack_key(v_id);
  end if;
  return 'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
    coalesce(v_data::text, p_event::text, p_raw_body, ''), 'UTF8')), 'hex');
end
$$;

-- The reference an event is about: charges carry it in data.reference, refunds in
-- data.transaction_reference, disputes in data.transaction.reference (beside a null
-- transaction_reference).
create or replace function app.paystack_reference(p_data jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(p_data ->> 'reference', p_data ->> 'transaction_reference',
                  p_data -> 'transaction' ->> 'reference')
$$;

-- Kobo as Paystack writes it: a whole JSON number, or a string of digits ("10000"). Null for
-- anything else (a fraction, a sign, an exponent in a string, NaN, words): never rounded.
create or replace function app.paystack_kobo(p_value jsonb)
returns numeric
language plpgsql
immutable
set search_path = ''
as $$
declare
  v numeric;
begin
  if pg_catalog.jsonb_typeof(p_value) = 'number' then
    v := p_value::numeric;
  elsif pg_catalog.jsonb_typeof(p_value) = 'string' and (p_value #>> '{}') ~ '^[0-9]{1,20}$' then
    v := (p_value #>> '{}')::numeric;
  end if;
  if v is null or v < 0 or v <> pg_catalog.trunc(v) or v >= 1e20 then
    return null;
  end if;
  return v;
end
$$;

-- Why an event of a type we apply cannot be applied, before any lock is taken; null when it can.
create or replace function app.paystack_event_problem(p_type text, p_data jsonb)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_reference text;
begin
  if pg_catalog.jsonb_typeof(p_data) is distinct from 'object' then
    return 'data is not an object';
  end if;
  v_reference := app.paystack_reference(p_data);
  if coalesce(v_reference, '') = '' then
    return 'no reference (data.reference, data.transaction_reference or data.transaction.reference)';
  end if;
  if pg_catalog.length(v_reference) > app.max_reference_length() then
    return format('the reference is longer than %s characters', app.max_reference_length());
  end if;
  if p_type = 'charge.success' then
    if app.paystack_kobo(p_data -> 'amount') is null then
      return 'data.amount is not a whole number of kobo';
    end if;
    if coalesce(pg_catalog.jsonb_typeof(p_data -> 'requested_amount'), 'null') <> 'null'
       and app.paystack_kobo(p_data -> 'requested_amount') is null then
      return 'data.requested_amount is not a whole number of kobo';
    end if;
  end if;
  return null;
end
$$;

-- The kobo of a processed refund's money already back for an investment (every stored
-- refund.processed that was applied).
create or replace function app.refunded_kobo(p_investment_id uuid)
returns numeric
language sql
stable
set search_path = ''
as $$
  select coalesce(sum(app.paystack_kobo(e.payload -> 'data' -> 'amount')), 0)
    from app.paystack_events e
   where e.investment_id = p_investment_id and e.event_type = 'refund.processed'
     and e.outcome = 'refund_recorded'
$$;

-- Queues a distribution run (after commit, through pg_net) when auto_distribute is on, unless one
-- is already waiting to be sent: a burst of payments queues one run, not one each (a waiting
-- request is a row of net.http_request_queue until pg_net takes it). The run is for everyone
-- claimable, so no payment waits for another's run; the claim decides who distributes (F9).
-- A transaction-level try-lock keeps two concurrent payments from both queueing one. Returns
-- whether this call queued the run.
create or replace function app.queue_distribution()
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if app.setting('auto_distribute') = 'on'
     and pg_catalog.pg_try_advisory_xact_lock(7304)
     and not exists (select 1 from net.http_request_queue q
                      where q.url like '%/functions/v1/distribute-tokens') then
    perform app.invoke_function('distribute-tokens', '{}'::jsonb);
    return true;
  end if;
  return false;
end
$$;

-- A distribution run that stopped at its CPU budget with work left queues the next one at once,
-- as a payment event does (debounced: none while one waits to be sent), instead of leaving the
-- rest for the next sweep a minute later.
create or replace function public.queue_distribution_run()
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role queues distribution runs');
  return app.queue_distribution();
end
$$;
comment on function public.queue_distribution_run() is
  'Service (distribute-tokens, when its budget ended a run with work left): queues one more run '
  'through pg_net unless one is already waiting to be sent or auto_distribute is off. Returns '
  'whether it queued one.';
revoke all on function public.queue_distribution_run() from public;
grant execute on function public.queue_distribution_run() to service_role;

-- charge.success for a locked investment. Confirms a pending one whose amount (kobo), requested
-- amount and currency match; anything else is amount_mismatch. A refunded or disputed investment
-- is never confirmed by a late charge (a disputed one remembers what the charge said, for when the
-- dispute is won).
create or replace function app.apply_charge_success(p_inv app.investments, p_data jsonb)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_paid numeric := app.paystack_kobo(p_data -> 'amount');
  v_ok boolean := v_paid = p_inv.amount_subunit::numeric
    and (coalesce(pg_catalog.jsonb_typeof(p_data -> 'requested_amount'), 'null') = 'null'
         or app.paystack_kobo(p_data -> 'requested_amount') = v_paid)
    and pg_catalog.jsonb_typeof(p_data -> 'currency') = 'string'
    and upper(p_data ->> 'currency') = p_inv.currency;
begin
  if p_inv.payment_status = 'disputed' then
    update app.investments
       set status_before_dispute = case when v_ok then 'confirmed' else 'amount_mismatch' end,
           updated_at = now()
     where id = p_inv.id and status_before_dispute = 'pending';
    return 'ignored';
  end if;
  if p_inv.payment_status <> 'pending' then
    -- Already confirmed (or further), mismatched, refunded or failed: a second charge event for
    -- the same reference changes nothing.
    return case when p_inv.payment_status = 'refunded' then 'ignored' else 'duplicate' end;
  end if;
  if not v_ok then
    update app.investments set payment_status = 'amount_mismatch', updated_at = now()
     where id = p_inv.id;
    return 'amount_mismatch';
  end if;
  update app.investments
     set payment_status = 'confirmed', confirmed_at = now(), updated_at = now()
   where id = p_inv.id;
  -- F9: this only enqueues, after commit, without the webhook waiting for it.
  if p_inv.refund_hold is null then
    perform app.queue_distribution();
  end if;
  return 'investment_confirmed';
end
$$;

-- refund.* for a locked investment (see the table at the top of this file). Before its tokens
-- are claimed, a refund holds the investment or, processed in full, makes it refunded; after the
-- claim nothing changes on chain and a processed refund raises refund_after_distribution.
create or replace function app.apply_refund(p_inv app.investments, p_type text, p_data jsonb,
  out outcome text, out reason text)
language plpgsql
set search_path = ''
as $$
declare
  v_unclaimed boolean := p_inv.payment_status in ('pending', 'confirmed', 'amount_mismatch', 'disputed');
  v_claimed boolean := p_inv.payment_status = any (app.claimed_statuses());
  v_amount numeric;
begin
  outcome := 'refund_recorded';
  if p_type in ('refund.pending', 'refund.processing') then
    -- A refund under way; a hold that asks for a person (needs_attention, partial) stays.
    update app.investments
       set refund_hold = 'in_progress', refund_hold_since = now(), updated_at = now()
     where id = p_inv.id and v_unclaimed and refund_hold is null;
  elsif p_type = 'refund.needs-attention' then
    update app.investments
       set refund_hold = 'needs_attention', refund_hold_since = now(), updated_at = now()
     where id = p_inv.id and v_unclaimed and refund_hold is distinct from 'partial';
  elsif p_type = 'refund.failed' then
    -- The money stayed: release a refund's hold (a partial refund already processed stays held).
    update app.investments set refund_hold = null, refund_hold_since = null, updated_at = now()
     where id = p_inv.id and refund_hold in ('in_progress', 'needs_attention');
    if found and p_inv.payment_status = 'confirmed' then
      perform app.queue_distribution();
    end if;
  elsif p_type = 'refund.processed' then
    v_amount := app.paystack_kobo(p_data -> 'amount');
    if v_amount is null then
      -- Money went back and we cannot tell how much: hold it for a person, never guess.
      outcome := 'unprocessable';
      reason := 'data.amount is not a whole number of kobo';
      update app.investments
         set refund_hold = 'needs_attention', refund_hold_since = now(), updated_at = now()
       where id = p_inv.id and v_unclaimed;
    elsif v_amount + app.refunded_kobo(p_inv.id) < p_inv.amount_subunit then
      -- Part of the money: never the full tokens for it, never a silent full refund.
      update app.investments
         set refund_hold = 'partial', refund_hold_since = now(), updated_at = now()
       where id = p_inv.id and v_unclaimed;
    elsif v_unclaimed then
      update app.investments
         set payment_status = 'refunded', refund_hold = null, refund_hold_since = null,
             updated_at = now()
       where id = p_inv.id;
      return;
    end if;
    if v_claimed then
      update app.investments
         set reversal = 'refund', reversal_at = pg_catalog.clock_timestamp(),
             reversal_acknowledged_at = null, updated_at = now()
       where id = p_inv.id;
    end if;
  end if;
end
$$;

-- charge.dispute.create / remind / resolve for a locked investment. An open dispute stops an
-- unclaimed investment (disputed); resolved for the merchant it goes back to what it was
-- (confirmed, or amount_mismatch), for the customer it is refunded. After the claim, nothing
-- changes on chain: an open dispute raises dispute_after_distribution, a won one clears it, a lost
-- one becomes refund_after_distribution. A create or remind that arrives after the same
-- dispute's resolve (out of order) changes nothing.
create or replace function app.apply_dispute(p_inv app.investments, p_type text, p_dispute_id text,
  p_data jsonb)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_merchant_won boolean;
begin
  if p_type in ('charge.dispute.create', 'charge.dispute.remind') then
    if exists (select 1 from app.paystack_events e
                where e.event_type = 'charge.dispute.resolve' and e.event_id = p_dispute_id) then
      return 'dispute_recorded';
    end if;
    if p_inv.payment_status in ('pending', 'confirmed', 'amount_mismatch') then
      update app.investments
         set payment_status = 'disputed', status_before_dispute = p_inv.payment_status,
             updated_at = now()
       where id = p_inv.id;
    elsif p_inv.payment_status = any (app.claimed_statuses()) and p_inv.reversal is null then
      update app.investments
         set reversal = 'dispute', reversal_at = pg_catalog.clock_timestamp(),
             reversal_acknowledged_at = null, updated_at = now()
       where id = p_inv.id;
    end if;
    return 'dispute_recorded';
  end if;
  -- Resolve. Paystack's resolutions: "declined" (the merchant contested and won); otherwise
  -- ("merchant-accepted", "auto-accepted") the customer is refunded.
  v_merchant_won := p_data ->> 'resolution' = 'declined';
  if p_inv.payment_status = 'disputed' then
    update app.investments
       set payment_status = case
             when not v_merchant_won then 'refunded'
             when status_before_dispute = 'amount_mismatch' then 'amount_mismatch'
             else 'confirmed' end,
           confirmed_at = case when v_merchant_won and status_before_dispute <> 'amount_mismatch'
                               then coalesce(confirmed_at, now()) else confirmed_at end,
           updated_at = now()
     where id = p_inv.id;
    if v_merchant_won and p_inv.status_before_dispute <> 'amount_mismatch' and p_inv.refund_hold is null then
      perform app.queue_distribution();
    end if;
  elsif p_inv.payment_status in ('pending', 'confirmed', 'amount_mismatch') and not v_merchant_won then
    update app.investments set payment_status = 'refunded', updated_at = now() where id = p_inv.id;
  elsif p_inv.payment_status = any (app.claimed_statuses()) then
    update app.investments
       set reversal = case when v_merchant_won then null else 'refund' end,
           reversal_at = case when v_merchant_won then null else pg_catalog.clock_timestamp() end,
           reversal_acknowledged_at = null, updated_at = now()
     where id = p_inv.id and (reversal = 'dispute' or not v_merchant_won);
  end if;
  return 'dispute_resolved';
end
$$;

-- One event of a type we apply, for its locked investment: what it did.
create or replace function app.apply_paystack_event(p_inv app.investments, p_type text, p_event_id text,
  p_data jsonb, out outcome text, out reason text)
language plpgsql
set search_path = ''
as $$
begin
  if p_type = 'charge.success' then
    outcome := app.apply_charge_success(p_inv, p_data);
  elsif p_type like 'refund.%' then
    select r.outcome, r.reason into outcome, reason from app.apply_refund(p_inv, p_type, p_data) r;
  else
    outcome := app.apply_dispute(p_inv, p_type, p_event_id, p_data);
  end if;
end
$$;

-- Records one event (from the webhook, or the verify sweep's answer as a charge.success) and
-- applies it once. See the guarantees at the top of this file.
create or replace function app.record_paystack_event(p_event jsonb, p_raw_body text, p_source text)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_type text := app.paystack_event_type(p_event);
  v_event_id text := app.paystack_event_id(p_event, p_raw_body);
  v_data jsonb := case when pg_catalog.jsonb_typeof(p_event) = 'object' then p_event -> 'data' end;
  v_applies boolean := app.paystack_applies(v_type);
  v_reference text;
  v_reason text;
  v_outcome text;
  v_row bigint;
  v_prev app.paystack_events;
  v_inv app.investments;
begin
  -- A retry of an event we already have (most deliveries: Paystack retries until it sees a 200):
  -- report it, change nothing, take no lock.
  select * into v_prev from app.paystack_events where event_type = v_type and event_id = v_event_id;
  if v_prev.id is null then
    if v_type = '' then
      v_outcome := 'unprocessable';
      v_reason := 'no event type';
    elsif not v_applies then
      v_outcome := 'ignored';
    else
      v_reason := app.paystack_event_problem(v_type, v_data);
      if v_reason is not null then
        v_outcome := 'unprocessable';
      else
        v_reference := app.paystack_reference(v_data);
        -- The investment's row lock orders this event against every other event for the
        -- reference (another delivery of this one included) and against a distribution claim.
        select * into v_inv from app.investments where reference = v_reference for update;
        if v_inv.id is null then
          v_outcome := 'unknown_reference';
        else
          -- Under the lock: a delivery of this event that got here first has committed by now.
          select * into v_prev from app.paystack_events
           where event_type = v_type and event_id = v_event_id;
          if v_prev.id is null then
            select a.outcome, a.reason into v_outcome, v_reason
              from app.apply_paystack_event(v_inv, v_type, v_event_id, v_data) a;
          end if;
        end if;
      end if;
    end if;
  end if;
  if v_prev.id is null then
    -- Stored once, with what it did (one write: no second update of the row).
    insert into app.paystack_events (event_type, event_id, reference, payload, outcome, reason,
      investment_id, source, raw_body)
    values (v_type, v_event_id, v_reference, coalesce(p_event, 'null'::jsonb), v_outcome, v_reason,
      v_inv.id, p_source, p_raw_body)
    on conflict (event_type, event_id) do nothing
    returning id into v_row;
    if v_row is null then
      if v_inv.id is not null then
        -- Cannot happen under the investment's lock; were it to, what was applied is undone with
        -- this transaction and the caller retries (503), to be answered duplicate.
        perform app.fail('40001', 'the event was recorded concurrently; retry');
      end if;
      -- An event without an investment took no lock and applied nothing: a concurrent delivery
      -- stored it first.
      select * into v_prev from app.paystack_events where event_type = v_type and event_id = v_event_id;
    end if;
  end if;
  if v_row is null then
    return jsonb_build_object('outcome', 'duplicate', 'investment_id', v_prev.investment_id,
      'user_id', (select user_id from app.investments where id = v_prev.investment_id),
      'first_outcome', v_prev.outcome, 'event_id', v_prev.id);
  end if;
  return jsonb_build_object('outcome', v_outcome, 'investment_id', v_inv.id, 'user_id', v_inv.user_id,
    'payment_status', (select payment_status from app.investments where id = v_inv.id),
    'reason', v_reason, 'event_id', v_row);
end
$$;

create or replace function public.record_paystack_event(p_event jsonb, p_raw_body text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role records Paystack events');
  return app.record_paystack_event(p_event, p_raw_body, 'webhook');
end
$$;
comment on function public.record_paystack_event(jsonb, text) is
  'Service (the paystack-webhook function): stores every signed event once per identity ((event, '
  'data.id), or (event, digest of data) when Paystack sends no id) and applies it to the investment of '
  'its reference, in any order: charge.success confirms a pending investment whose amount, '
  'requested_amount and currency match (else amount_mismatch); refund.* holds or refunds it; '
  'charge.dispute.* disputes it; after the claim a reversal raises refund_after_distribution / '
  'dispute_after_distribution. p_event is the event as jsonb can hold it, p_raw_body the body as signed. '
  'Never raises for an event''s content. Returns {outcome, investment_id, user_id, payment_status, '
  'reason, event_id}; outcome is investment_confirmed, duplicate, amount_mismatch, unknown_reference, '
  'ignored, unprocessable, refund_recorded, dispute_recorded or dispute_resolved.';
revoke all on function public.record_paystack_event(jsonb, text) from public;
grant execute on function public.record_paystack_event(jsonb, text) to service_role;

create or replace function public.admin_dismiss_paystack_event(p_event_id bigint, p_note text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_event app.paystack_events;
begin
  perform app.require_admin(true);
  perform app.require_text(p_note, 'p_note', app.max_note_length());
  select * into v_event from app.paystack_events where id = p_event_id for update;
  if v_event.id is null then
    perform app.fail('PT404', 'no such Paystack event');
  end if;
  if not coalesce(v_event.outcome = any (app.unapplied_outcomes()), false) or v_event.dismissed_at is not null then
    perform app.fail('PT409', 'only an open unprocessable or unknown_reference event can be dismissed; '
      || 'this one is ' || coalesce(v_event.outcome, 'unknown')
      || case when v_event.dismissed_at is not null then ' and already dismissed' else '' end);
  end if;
  update app.paystack_events set dismissed_at = now() where id = v_event.id;
  perform app.audit('dismiss_paystack_event', jsonb_build_object('event_id', v_event.id, 'note', p_note),
    jsonb_build_object('outcome', v_event.outcome, 'reason', v_event.reason),
    jsonb_build_object('dismissed', true));
  return jsonb_build_object('event_id', v_event.id, 'event_type', v_event.event_type,
    'outcome', v_event.outcome, 'dismissed', true);
end
$$;
comment on function public.admin_dismiss_paystack_event(bigint, text) is
  'Admin (aal2) or service: closes the paystack_event_unprocessable alert of a stored event that could '
  'not be applied (outcome unprocessable or unknown_reference), once a person has handled it (for '
  'example refunded the payer on Paystack''s dashboard). PT404 unknown event, PT409 not such an event or '
  'already dismissed; writes an audit row with p_note. Returns {event_id, event_type, outcome, dismissed}.';
revoke all on function public.admin_dismiss_paystack_event(bigint, text) from public;
grant execute on function public.admin_dismiss_paystack_event(bigint, text) to authenticated, service_role;

-- A stored event for an admin: what it was, what it did and why, and the payload (support only:
-- it names the customer).
create or replace function public.admin_paystack_event(p_event_id bigint)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_event app.paystack_events;
begin
  perform app.require_admin(false);
  select * into v_event from app.paystack_events where id = p_event_id;
  if v_event.id is null then
    perform app.fail('PT404', 'no such Paystack event');
  end if;
  return jsonb_build_object('event_id', v_event.id, 'event_type', v_event.event_type,
    'identity', v_event.event_id, 'reference', v_event.reference, 'outcome', v_event.outcome,
    'reason', v_event.reason, 'investment_id', v_event.investment_id, 'source', v_event.source,
    'received_at', v_event.received_at, 'dismissed_at', v_event.dismissed_at,
    'payload', v_event.payload, 'raw_body', v_event.raw_body);
end
$$;
comment on function public.admin_paystack_event(bigint) is
  'Admin or service: one stored Paystack event: {event_id, event_type, identity, reference, outcome, '
  'reason, investment_id, source (webhook or verify), received_at, dismissed_at, payload, raw_body}. '
  'PT404 for an unknown id.';
revoke all on function public.admin_paystack_event(bigint) from public;
grant execute on function public.admin_paystack_event(bigint) to authenticated, service_role;
