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
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_token_address must be 0x followed by 40 hex digits');
  end if;
  if p_chain_id is null or p_chain_id <= 0 then
    perform app.fail('PT400', 'p_chain_id must be positive');
  end if;
  if p_price_per_token is null or p_price_per_token <= 0 or p_price_per_token <> round(p_price_per_token, 2) then
    perform app.fail('PT400', 'p_price_per_token must be positive with at most 2 decimals');
  end if;
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
  if p_tokens is null or p_tokens <= 0 or p_tokens <> trunc(p_tokens) then
    perform app.fail('PT400', 'p_tokens must be a positive whole number of tokens (base units)');
  end if;
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
  v_reference text := p_event -> 'data' ->> 'reference';
  v_row bigint;
  v_prev app.paystack_events;
  v_inv app.investments;
  v_outcome text;
  v_amount numeric;
begin
  perform app.require_service('only the service role records Paystack events');
  if v_type is null or jsonb_typeof(v_data) is distinct from 'object' or coalesce(v_event_id, '') = '' then
    perform app.fail('PT400', 'a Paystack event needs "event" and "data.id"');
  end if;

  insert into app.paystack_events (event_type, event_id, reference, payload)
  values (v_type, v_event_id, v_reference, p_event)
  on conflict (event_type, event_id) do nothing
  returning id into v_row;
  if v_row is null then
    -- A retry of an event we already have: report, change nothing.
    select * into v_prev from app.paystack_events where event_type = v_type and event_id = v_event_id;
    return jsonb_build_object('outcome', 'duplicate', 'investment_id', v_prev.investment_id,
      'user_id', (select user_id from app.investments where id = v_prev.investment_id),
      'first_outcome', v_prev.outcome);
  end if;

  if v_type <> 'charge.success' then
    v_outcome := 'ignored';
  else
    select * into v_inv from app.investments where reference = v_reference for update;
    if v_inv.id is null then
      v_outcome := 'unknown_reference';
    else
      begin
        v_amount := (v_data ->> 'amount')::numeric;
      exception when others then
        v_amount := null;
      end;
      if v_amount is distinct from v_inv.amount_subunit::numeric
         or upper(coalesce(v_data ->> 'currency', '')) <> v_inv.currency then
        update app.investments set payment_status = 'amount_mismatch', updated_at = now()
         where id = v_inv.id and payment_status = 'pending';
        v_outcome := case when found then 'amount_mismatch' else 'duplicate' end;
      else
        update app.investments
           set payment_status = 'confirmed', confirmed_at = now(), updated_at = now()
         where id = v_inv.id and payment_status = 'pending';
        if found then
          v_outcome := 'investment_confirmed';
          -- Distribution starts after commit, without the webhook waiting for it (F9: this only
          -- enqueues; the claim decides who distributes).
          if coalesce(app.setting('auto_distribute'), 'on') = 'on' then
            perform app.invoke_function('distribute-tokens', jsonb_build_object('user_id', v_inv.user_id));
          end if;
        else
          v_outcome := 'duplicate'; -- already confirmed by another event for the same reference
        end if;
      end if;
    end if;
  end if;

  update app.paystack_events set outcome = v_outcome, investment_id = v_inv.id where id = v_row;
  return jsonb_build_object('outcome', v_outcome, 'investment_id', v_inv.id, 'user_id', v_inv.user_id);
end
$$;
comment on function public.record_paystack_event(jsonb) is
  'Service (the paystack-webhook function): stores every event once per (event, data.id). For '
  'charge.success it matches data.reference, checks amount (kobo) and currency, and moves the '
  'investment pending -> confirmed, then queues distribution. Returns {outcome, investment_id, '
  'user_id}; outcome is investment_confirmed, duplicate, amount_mismatch, unknown_reference or ignored.';
revoke all on function public.record_paystack_event(jsonb) from public;
grant execute on function public.record_paystack_event(jsonb) to service_role;

create or replace view public.my_investments with (security_barrier = true) as
  select i.id, i.tokenization_id, t.property_id, i.tokens, i.amount, i.currency, i.reference,
         i.payment_status, i.created_at, i.confirmed_at, i.distributed_at,
         (select tt.tx_hash from app.token_transfers tt where tt.id = i.transfer_id) as tx_hash
    from app.investments i
    join app.tokenizations t on t.id = i.tokenization_id
   where i.user_id = auth.uid();
comment on view public.my_investments is 'The caller''s investments with their payment status.';
revoke all on public.my_investments from public, anon;
grant select on public.my_investments to authenticated;

create or replace view public.my_token_holdings with (security_barrier = true) as
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
