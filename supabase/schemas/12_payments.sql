-- Tokenizations, investments and the Paystack webhook's RPC.
create or replace function public.admin_register_tokenization(
  p_property_id text,
  p_token_address text,
  p_chain_id bigint,
  p_price_per_token numeric,
  p_currency text default 'NGN',
  p_decimals int default 0
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_addr text := lower(btrim(coalesce(p_token_address, '')));
  v_id uuid;
  v_existing app.tokenizations;
begin
  perform app.require_admin(true);
  if coalesce(btrim(p_property_id), '') = '' then
    perform app.fail('PT400', 'p_property_id is required');
  end if;
  perform app.require_text(p_property_id, 'p_property_id', app.max_reference_length());
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_token_address must be 0x followed by 40 hex digits');
  end if;
  if p_chain_id is null or p_chain_id <= 0 then
    perform app.fail('PT400', 'p_chain_id must be positive');
  end if;
  if p_price_per_token is null then
    perform app.fail('PT400', 'p_price_per_token is required');
  end if;
  perform app.require_money(p_price_per_token, 'p_price_per_token', true);
  if coalesce(p_currency, '') !~ '^[A-Z]{3}$' then
    perform app.fail('PT400', 'p_currency must be an ISO 4217 code such as NGN');
  end if;
  if p_decimals is null or p_decimals < 0 or p_decimals > 36 then
    perform app.fail('PT400', 'p_decimals must be between 0 and 36');
  end if;
  -- Registering the same token for the same property again is a no-op, so scripts can re-run.
  select * into v_existing from app.tokenizations
   where (chain_id = p_chain_id and token_address = v_addr) or property_id = p_property_id
   limit 1;
  if v_existing.id is not null then
    if v_existing.property_id = p_property_id and v_existing.token_address = v_addr
       and v_existing.chain_id = p_chain_id then
      return jsonb_build_object('tokenization_id', v_existing.id, 'created', false);
    end if;
    perform app.fail('PT409', 'this property or token is already registered differently',
      'tokenization ' || v_existing.id);
  end if;
  insert into app.tokenizations (property_id, token_address, chain_id, price_per_token, currency, decimals)
  values (p_property_id, v_addr, p_chain_id, p_price_per_token, p_currency, p_decimals)
  returning id into v_id;
  perform app.audit('register_tokenization', jsonb_build_object('tokenization_id', v_id), null,
    jsonb_build_object('property_id', p_property_id, 'token_address', v_addr, 'chain_id', p_chain_id,
      'price_per_token', p_price_per_token, 'currency', p_currency, 'decimals', p_decimals));
  return jsonb_build_object('tokenization_id', v_id, 'created', true);
end
$$;
comment on function public.admin_register_tokenization(text, text, bigint, numeric, text, int) is
  'Admin (aal2) or service: registers a property''s ERC-20 token. Returns {"tokenization_id"}. '
  'Re-registering the same (property, token, chain) returns the same id; a conflicting one is PT409.';
revoke all on function public.admin_register_tokenization(text, text, bigint, numeric, text, int) from public;
grant execute on function public.admin_register_tokenization(text, text, bigint, numeric, text, int)
  to authenticated, service_role;

create or replace function public.create_investment(p_tokenization_id uuid, p_tokens numeric)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_t app.tokenizations;
  v_amount numeric;
  v_inv app.investments;
begin
  if p_tokens is null then
    perform app.fail('PT400', 'p_tokens is required: a positive whole number of tokens (base units)');
  end if;
  perform app.require_whole(p_tokens, 'p_tokens', true);
  select * into v_t from app.tokenizations where id = p_tokenization_id;
  if v_t.id is null then
    perform app.fail('PT404', 'no such tokenization', 'check p_tokenization_id');
  end if;
  v_amount := p_tokens * v_t.price_per_token / power(10::numeric, v_t.decimals);
  if v_amount <> round(v_amount, 2) or v_amount < 0.01 then
    perform app.fail('PT400', 'the price of this many tokens is not a whole number of kobo');
  end if;
  if v_amount > 99999999999.99 then
    perform app.fail('PT400', 'amount too large for one payment');
  end if;
  insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
  values (v_user, v_t.id, p_tokens, v_amount, (v_amount * 100)::bigint, v_t.currency,
          'INV-' || upper(replace(gen_random_uuid()::text, '-', '')))
  returning * into v_inv;
  return jsonb_build_object(
    'investment_id', v_inv.id,
    'reference', v_inv.reference,
    'tokens', v_inv.tokens::text,
    'amount', app.money_text(v_inv.amount),
    'amount_subunit', v_inv.amount_subunit,
    'currency', v_inv.currency,
    'payment_status', v_inv.payment_status);
end
$$;
comment on function public.create_investment(uuid, numeric) is
  'Authenticated: creates a pending investment in p_tokens tokens. Returns {investment_id, reference, '
  'tokens, amount, amount_subunit (the kobo Paystack charges), currency}; pay with the reference.';
revoke all on function public.create_investment(uuid, numeric) from public;
grant execute on function public.create_investment(uuid, numeric) to authenticated;

-- The reference an event is about: charges carry it in data.reference, refunds in
-- data.transaction_reference, disputes in data.transaction.reference.
create or replace function app.paystack_reference(p_data jsonb)
returns text
language sql
immutable
set search_path = ''
as $$
  select coalesce(p_data ->> 'reference', p_data ->> 'transaction_reference',
                  p_data -> 'transaction' ->> 'reference')
$$;

-- A number in an event that may be a JSON number or a string ("10000"); null when it is neither.
create or replace function app.paystack_number(p_value jsonb)
returns numeric
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (p_value #>> '{}')::numeric;
exception when others then
  return null;
end
$$;

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
  v_paid numeric := app.paystack_number(p_data -> 'amount');
  v_requested numeric := app.paystack_number(p_data -> 'requested_amount');
  v_ok boolean := v_paid is not distinct from p_inv.amount_subunit::numeric
    and (not (p_data ? 'requested_amount') or v_requested is not distinct from v_paid)
    and upper(coalesce(p_data ->> 'currency', '')) = p_inv.currency;
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
  -- Distribution starts after commit, without the webhook waiting for it (F9: this only enqueues;
  -- the claim decides who distributes).
  if coalesce(app.setting('auto_distribute'), 'on') = 'on' and not p_inv.refund_pending then
    perform app.invoke_function('distribute-tokens', jsonb_build_object('user_id', p_inv.user_id));
  end if;
  return 'investment_confirmed';
end
$$;

-- refund.pending / processing / processed / failed for a locked investment. Before its tokens are
-- claimed, a processed refund makes it refunded (never claimed); one in progress holds the claim;
-- a failed one releases the hold. After the claim, a processed refund changes nothing on chain
-- and raises refund_after_distribution.
create or replace function app.apply_refund(p_inv app.investments, p_type text)
returns text
language plpgsql
set search_path = ''
as $$
begin
  if p_type in ('refund.pending', 'refund.processing') then
    update app.investments set refund_pending = true, updated_at = now()
     where id = p_inv.id and payment_status in ('pending', 'confirmed', 'amount_mismatch', 'disputed');
  elsif p_type = 'refund.failed' then
    update app.investments set refund_pending = false, updated_at = now()
     where id = p_inv.id and refund_pending;
    if found and p_inv.payment_status = 'confirmed'
       and coalesce(app.setting('auto_distribute'), 'on') = 'on' then
      perform app.invoke_function('distribute-tokens', jsonb_build_object('user_id', p_inv.user_id));
    end if;
  elsif p_type = 'refund.processed' then
    if p_inv.payment_status in ('pending', 'confirmed', 'amount_mismatch', 'disputed') then
      update app.investments
         set payment_status = 'refunded', refund_pending = false, updated_at = now()
       where id = p_inv.id;
    elsif p_inv.payment_status in ('distributing', 'tokens_distributed') then
      update app.investments
         set reversal = 'refund', reversal_at = pg_catalog.clock_timestamp(),
             reversal_acknowledged_at = null, updated_at = now()
       where id = p_inv.id;
    end if;
  end if;
  return 'refund_recorded';
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
    elsif p_inv.payment_status in ('distributing', 'tokens_distributed') and p_inv.reversal is null then
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
    if v_merchant_won and p_inv.status_before_dispute <> 'amount_mismatch'
       and coalesce(app.setting('auto_distribute'), 'on') = 'on' then
      perform app.invoke_function('distribute-tokens', jsonb_build_object('user_id', p_inv.user_id));
    end if;
  elsif p_inv.payment_status in ('pending', 'confirmed', 'amount_mismatch') and not v_merchant_won then
    update app.investments set payment_status = 'refunded', updated_at = now() where id = p_inv.id;
  elsif p_inv.payment_status in ('distributing', 'tokens_distributed') then
    update app.investments
       set reversal = case when v_merchant_won then null else 'refund' end,
           reversal_at = case when v_merchant_won then null else pg_catalog.clock_timestamp() end,
           reversal_acknowledged_at = null, updated_at = now()
     where id = p_inv.id and (reversal = 'dispute' or not v_merchant_won);
  end if;
  return 'dispute_resolved';
end
$$;

create or replace function public.record_paystack_event(p_event jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_type text := p_event ->> 'event';
  v_data jsonb := p_event -> 'data';
  v_event_id text := p_event -> 'data' ->> 'id';
  v_reference text;
  v_row bigint;
  v_prev app.paystack_events;
  v_inv app.investments;
  v_outcome text;
begin
  perform app.require_service('only the service role records Paystack events');
  if v_type is null or jsonb_typeof(v_data) is distinct from 'object' or coalesce(v_event_id, '') = '' then
    perform app.fail('PT400', 'a Paystack event needs "event" and "data.id"');
  end if;
  perform app.require_text(v_type, 'event', 100);
  perform app.require_text(v_event_id, 'data.id', 100);
  v_reference := app.paystack_reference(v_data);
  perform app.require_text(v_reference, 'data.reference', app.max_reference_length());

  -- A retry of an event we already have (most deliveries: Paystack retries until it sees a 200):
  -- report it, change nothing, take no lock.
  select * into v_prev from app.paystack_events where event_type = v_type and event_id = v_event_id;
  if v_prev.id is null then
    if v_type = 'charge.success' or v_type like 'refund.%' or v_type like 'charge.dispute.%' then
      -- The investment's row lock orders this event against every other event for the reference
      -- (another delivery of this one included) and against a distribution claim: exactly one of
      -- a reversal and a claim wins.
      select * into v_inv from app.investments where reference = v_reference for update;
      if v_inv.id is not null then
        -- Under the lock: a delivery of this event that got here first has committed by now.
        select * into v_prev from app.paystack_events
         where event_type = v_type and event_id = v_event_id;
      end if;
    end if;
  end if;
  if v_prev.id is null then
    if v_type <> 'charge.success' and v_type not like 'refund.%'
       and v_type not like 'charge.dispute.%' then
      v_outcome := 'ignored';
    elsif v_inv.id is null then
      v_outcome := 'unknown_reference';
    elsif v_type = 'charge.success' then
      v_outcome := app.apply_charge_success(v_inv, v_data);
    elsif v_type in ('refund.pending', 'refund.processing', 'refund.processed', 'refund.failed') then
      v_outcome := app.apply_refund(v_inv, v_type);
    elsif v_type in ('charge.dispute.create', 'charge.dispute.remind', 'charge.dispute.resolve') then
      v_outcome := app.apply_dispute(v_inv, v_type, v_event_id, v_data);
    else
      v_outcome := 'ignored';
    end if;
    -- Stored once, with what it did (one write: no second update of the row).
    insert into app.paystack_events (event_type, event_id, reference, payload, outcome, investment_id)
    values (v_type, v_event_id, v_reference, p_event, v_outcome, v_inv.id)
    on conflict (event_type, event_id) do nothing
    returning id into v_row;
    if v_row is null then
      if v_inv.id is not null then
        -- Cannot happen under the investment's lock; were it to, what was applied is undone with
        -- this transaction and the caller retries (503), to be answered duplicate.
        perform app.fail('40001', 'the event was recorded concurrently; retry');
      end if;
      -- An event without an investment (ignored, unknown reference) took no lock, and applied
      -- nothing: a concurrent delivery stored it first.
      select * into v_prev from app.paystack_events where event_type = v_type and event_id = v_event_id;
    end if;
  end if;
  if v_row is null then
    return jsonb_build_object('outcome', 'duplicate', 'investment_id', v_prev.investment_id,
      'user_id', (select user_id from app.investments where id = v_prev.investment_id),
      'first_outcome', v_prev.outcome);
  end if;
  return jsonb_build_object('outcome', v_outcome, 'investment_id', v_inv.id, 'user_id', v_inv.user_id,
    'payment_status', (select payment_status from app.investments where id = v_inv.id));
end
$$;
comment on function public.record_paystack_event(jsonb) is
  'Service (the paystack-webhook function): stores every event once per (event, data.id) and applies '
  'it to the investment of its reference, in any order: charge.success confirms a pending investment '
  'whose amount, requested_amount and currency match (else amount_mismatch); refund.* and '
  'charge.dispute.* stop an unclaimed investment (refunded, disputed) or, after the claim, raise '
  'refund_after_distribution / dispute_after_distribution. Returns {outcome, investment_id, user_id, '
  'payment_status}; outcome is investment_confirmed, duplicate, amount_mismatch, unknown_reference, '
  'ignored, refund_recorded, dispute_recorded or dispute_resolved.';
revoke all on function public.record_paystack_event(jsonb) from public;
grant execute on function public.record_paystack_event(jsonb) to service_role;

-- Every stuck state has a way out an admin can take from the dashboard, each with an audit row.
create or replace function public.admin_resolve_investment(p_investment_id uuid, p_action text,
  p_note text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_inv app.investments;
  v_paid numeric;
  v_new app.investments;
begin
  perform app.require_admin(true);
  perform app.require_text(p_note, 'p_note', app.max_note_length());
  if p_action is null or p_action not in ('accept', 'cancel', 'acknowledge') then
    perform app.fail('PT400', 'p_action must be accept, cancel or acknowledge');
  end if;
  select * into v_inv from app.investments where id = p_investment_id for update;
  if v_inv.id is null then
    perform app.fail('PT404', 'no such investment');
  end if;

  if p_action = 'accept' then
    if v_inv.payment_status <> 'amount_mismatch' then
      perform app.fail('PT409', 'only an amount_mismatch investment can be accepted; it is '
        || v_inv.payment_status);
    end if;
    select max(app.paystack_number(e.payload -> 'data' -> 'amount')) into v_paid
      from app.paystack_events e
     where e.investment_id = v_inv.id and e.event_type = 'charge.success'
       and upper(coalesce(e.payload -> 'data' ->> 'currency', '')) = v_inv.currency;
    if v_paid is null or v_paid < v_inv.amount_subunit then
      perform app.fail('PT409', format('paid %s of %s %s (kobo): cancel it instead',
        coalesce(v_paid::text, 'nothing'), v_inv.amount_subunit, v_inv.currency));
    end if;
    update app.investments
       set payment_status = 'confirmed', confirmed_at = now(), updated_at = now()
     where id = v_inv.id returning * into v_new;
    if coalesce(app.setting('auto_distribute'), 'on') = 'on' and not v_inv.refund_pending then
      perform app.invoke_function('distribute-tokens', jsonb_build_object('user_id', v_inv.user_id));
    end if;
  elsif p_action = 'cancel' then
    if v_inv.payment_status not in ('pending', 'amount_mismatch', 'disputed') then
      perform app.fail('PT409', 'only a pending, amount_mismatch or disputed investment can be '
        || 'cancelled; it is ' || v_inv.payment_status);
    end if;
    update app.investments set payment_status = 'failed', updated_at = now()
     where id = v_inv.id returning * into v_new;
  else
    if v_inv.reversal is null or v_inv.reversal_acknowledged_at is not null then
      perform app.fail('PT409', 'this investment has no open refund or dispute alert');
    end if;
    update app.investments set reversal_acknowledged_at = now(), updated_at = now()
     where id = v_inv.id returning * into v_new;
  end if;

  perform app.audit('resolve_investment:' || p_action,
    jsonb_build_object('investment_id', v_inv.id, 'note', p_note),
    jsonb_build_object('payment_status', v_inv.payment_status, 'reversal', v_inv.reversal),
    jsonb_build_object('payment_status', v_new.payment_status, 'reversal', v_new.reversal,
                       'acknowledged_at', v_new.reversal_acknowledged_at));
  return jsonb_build_object('investment_id', v_new.id, 'action', p_action,
    'payment_status', v_new.payment_status, 'previous_status', v_inv.payment_status,
    'reversal', v_new.reversal, 'acknowledged', v_new.reversal_acknowledged_at is not null);
end
$$;
comment on function public.admin_resolve_investment(uuid, text, text) is
  'Admin (aal2) or service: the way out of a stuck investment. accept: an amount_mismatch investment '
  'that was paid at least its amount becomes confirmed; cancel: a pending, amount_mismatch or disputed '
  'one becomes failed; acknowledge: clears a refund_after_distribution or dispute_after_distribution '
  'alert. PT409 when the action does not apply, PT404 for an unknown investment; writes an audit row '
  'with p_note. Returns {investment_id, action, payment_status, previous_status, reversal, acknowledged}.';
revoke all on function public.admin_resolve_investment(uuid, text, text) from public;
grant execute on function public.admin_resolve_investment(uuid, text, text) to authenticated, service_role;

create or replace view public.my_investments with (security_invoker = true, security_barrier = true) as
  select i.id, i.tokenization_id, t.property_id, i.tokens, i.amount, i.currency, i.reference,
         i.payment_status, i.created_at, i.confirmed_at, i.distributed_at,
         (select tt.tx_hash from app.token_transfers tt where tt.id = i.transfer_id) as tx_hash,
         -- Every money movement of the investment, in order: the Paystack events as they were
         -- applied, then the tokens leaving the treasury.
         coalesce((select jsonb_agg(h.item order by h.at, h.seq)
                     from (select jsonb_build_object('event', e.event_type, 'outcome', e.outcome,
                                    'at', e.received_at) as item, e.received_at as at, e.id as seq
                             from app.paystack_events e where e.investment_id = i.id
                           union all
                           select jsonb_build_object('event', 'tokens_sent', 'outcome',
                                    'tokens_distributed', 'at', i.distributed_at) as item,
                                  i.distributed_at as at, null::bigint as seq
                            where i.distributed_at is not null) h), '[]'::jsonb) as events
    from app.investments i
    join app.tokenizations t on t.id = i.tokenization_id
   where i.user_id = auth.uid();
comment on view public.my_investments is
  'The caller''s investments with their payment status, transaction hash and events (payment, refund, '
  'dispute, tokens sent) in order.';
revoke all on public.my_investments from public, anon;
grant select on public.my_investments to authenticated;

create or replace view public.my_token_holdings with (security_invoker = true, security_barrier = true) as
  select h.tokenization_id, t.property_id, h.balance,
         coalesce((select sum(i.amount) from app.investments i
                    where i.user_id = h.user_id and i.tokenization_id = h.tokenization_id
                      and i.payment_status = 'tokens_distributed'), 0) as amount_invested
    from app.token_holdings h
    join app.tokenizations t on t.id = h.tokenization_id
   where h.user_id = auth.uid();
comment on view public.my_token_holdings is 'The caller''s token holdings and what they paid for them.';
revoke all on public.my_token_holdings from public, anon;
grant select on public.my_token_holdings to authenticated;
