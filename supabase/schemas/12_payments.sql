-- Tokenizations, investments, the admin's way out of a stuck investment and the investor's views.
-- How Paystack's events move an investment: 16_paystack_events.sql.
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
  perform app.require_address(v_addr, 'p_token_address must be 0x followed by 40 hex digits');
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
  v_kept numeric;
  v_tokens numeric;
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
    if v_inv.payment_status = 'confirmed' and v_inv.refund_hold = 'partial' then
      -- Part of the money went back: the tokens the money kept pays for, never more. amount
      -- becomes the money kept; amount_subunit stays what was charged, so that every later
      -- refund is still weighed against the whole charge (all refunds together), never against
      -- what is left of it.
      v_kept := v_inv.amount_subunit - app.refunded_kobo(v_inv.id);
      select floor(v_kept / 100 * power(10::numeric, t.decimals) / t.price_per_token) into v_tokens
        from app.tokenizations t where t.id = v_inv.tokenization_id;
      if v_tokens < 1 then
        perform app.fail('PT409', format('the %s kobo kept pay for no token: cancel it instead', v_kept));
      end if;
      update app.investments
         set tokens = v_tokens, amount = v_kept / 100, refund_hold = null,
             refund_hold_since = null, updated_at = now()
       where id = v_inv.id returning * into v_new;
      perform app.queue_distribution();
    elsif v_inv.payment_status = 'confirmed' and v_inv.refund_hold = 'needs_attention' then
      -- A person checked on Paystack that the money stayed.
      update app.investments set refund_hold = null, refund_hold_since = null, updated_at = now()
       where id = v_inv.id returning * into v_new;
      perform app.queue_distribution();
    elsif v_inv.payment_status = 'amount_mismatch' then
      select max(app.paystack_kobo(e.payload -> 'data' -> 'amount')) into v_paid
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
      if v_inv.refund_hold is null then
        perform app.queue_distribution();
      end if;
    else
      perform app.fail('PT409', 'only an amount_mismatch investment, or a confirmed one held for a '
        || 'partial refund or a refund that needs attention, can be accepted; it is '
        || v_inv.payment_status || coalesce(' (held: ' || v_inv.refund_hold || ')', ''));
    end if;
  elsif p_action = 'cancel' then
    if v_inv.payment_status not in ('pending', 'amount_mismatch', 'disputed')
       and not (v_inv.payment_status = 'confirmed' and v_inv.refund_hold is not null) then
      perform app.fail('PT409', 'only a pending, amount_mismatch, disputed or held investment can be '
        || 'cancelled; it is ' || v_inv.payment_status);
    end if;
    update app.investments
       set payment_status = 'failed', refund_hold = null, refund_hold_since = null, updated_at = now()
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
    jsonb_build_object('payment_status', v_inv.payment_status, 'reversal', v_inv.reversal,
                       'refund_hold', v_inv.refund_hold, 'tokens', v_inv.tokens::text),
    jsonb_build_object('payment_status', v_new.payment_status, 'reversal', v_new.reversal,
                       'acknowledged_at', v_new.reversal_acknowledged_at,
                       'refund_hold', v_new.refund_hold, 'tokens', v_new.tokens::text));
  return jsonb_build_object('investment_id', v_new.id, 'action', p_action,
    'payment_status', v_new.payment_status, 'previous_status', v_inv.payment_status,
    'reversal', v_new.reversal, 'acknowledged', v_new.reversal_acknowledged_at is not null,
    'tokens', v_new.tokens::text, 'refund_hold', v_new.refund_hold);
end
$$;
comment on function public.admin_resolve_investment(uuid, text, text) is
  'Admin (aal2) or service: the way out of a stuck investment. accept: an amount_mismatch investment '
  'that was paid at least its amount becomes confirmed; a confirmed one held for a partial refund gets '
  'the tokens the money kept pays for (its amount becomes what was kept, the charge stays as it was); one held for a refund that '
  'needs attention is released. cancel: a pending, amount_mismatch, disputed or held investment becomes '
  'failed. acknowledge: clears a refund_after_distribution or dispute_after_distribution alert. PT409 '
  'when the action does not apply, PT404 for an unknown investment; writes an audit row with p_note. '
  'Returns {investment_id, action, payment_status, previous_status, reversal, acknowledged, tokens, '
  'refund_hold}.';
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
