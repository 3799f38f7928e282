-- An investment held for a person (a partial refund, a refund needing attention): an admin accepts
-- it (the tokens for what was kept) or cancels it.

-- accept: an investment held for a partial refund gets the tokens the money kept pays for; one
-- held for a refund that needs attention is released; an amount_mismatch that was paid at least its
-- amount is confirmed. Each is queued for distribution unless still held. PT409 for any other.
create or replace function app.accept_investment(p_inv app.investments)
returns app.investments
language plpgsql
set search_path = ''
as $$
declare
  v_kept numeric;
  v_tokens numeric;
  v_paid numeric;
  v_new app.investments;
begin
  if p_inv.payment_status = 'confirmed' and p_inv.refund_hold = 'partial' then
    -- amount becomes the money kept; amount_subunit stays what was charged, so that every later
    -- refund is still weighed against the whole charge (all refunds together), never against what
    -- is left of it.
    v_kept := p_inv.amount_subunit - app.refunded_kobo(p_inv.id);
    select app.tokens_bought(t, v_kept) into v_tokens
      from app.tokenizations t where t.id = p_inv.tokenization_id;
    if v_tokens < 1 then
      perform app.fail('PT409', format('the %s kobo kept pay for no token: cancel it instead', v_kept));
    end if;
    update app.investments
       set tokens = v_tokens, amount = v_kept / 100, refund_hold = null,
           refund_hold_since = null, updated_at = now()
     where id = p_inv.id returning * into v_new;
  elsif p_inv.payment_status = 'confirmed' and p_inv.refund_hold = 'needs_attention' then
    -- A person checked on Paystack that the money stayed.
    update app.investments set refund_hold = null, refund_hold_since = null, updated_at = now()
     where id = p_inv.id returning * into v_new;
  elsif p_inv.payment_status = 'amount_mismatch' then
    select max(app.paystack_kobo(e.payload -> 'data' -> 'amount')) into v_paid
      from app.paystack_events e
     where e.investment_id = p_inv.id and e.event_type = 'charge.success'
       and upper(coalesce(e.payload -> 'data' ->> 'currency', '')) = p_inv.currency;
    if v_paid is null or v_paid < p_inv.amount_subunit then
      perform app.fail('PT409', format('paid %s of %s %s (kobo): cancel it instead',
        coalesce(v_paid::text, 'nothing'), p_inv.amount_subunit, p_inv.currency));
    end if;
    update app.investments
       set payment_status = 'confirmed', confirmed_at = now(), updated_at = now()
     where id = p_inv.id returning * into v_new;
  else
    perform app.fail('PT409', 'only an amount_mismatch investment, or a confirmed one held for a '
      || 'partial refund or a refund that needs attention, can be accepted; it is '
      || p_inv.payment_status || coalesce(' (held: ' || p_inv.refund_hold || ')', ''));
  end if;
  if v_new.refund_hold is null then
    perform app.queue_distribution();
  end if;
  return v_new;
end
$$;

-- cancel: a pending, amount_mismatch, disputed or held investment becomes failed (it never gets
-- tokens). PT409 for any other.
create or replace function app.cancel_investment(p_inv app.investments)
returns app.investments
language plpgsql
set search_path = ''
as $$
declare
  v_new app.investments;
begin
  if p_inv.payment_status not in ('pending', 'amount_mismatch', 'disputed')
     and not (p_inv.payment_status = 'confirmed' and p_inv.refund_hold is not null) then
    perform app.fail('PT409', 'only a pending, amount_mismatch, disputed or held investment can be '
      || 'cancelled; it is ' || p_inv.payment_status);
  end if;
  update app.investments
     set payment_status = 'failed', refund_hold = null, refund_hold_since = null, updated_at = now()
   where id = p_inv.id returning * into v_new;
  return v_new;
end
$$;

-- acknowledge: an admin has seen the refund or dispute that came after the tokens went out (the
-- alert closes; nothing else changes). PT409 when there is no open one.
create or replace function app.acknowledge_reversal(p_inv app.investments)
returns app.investments
language plpgsql
set search_path = ''
as $$
declare
  v_new app.investments;
begin
  if p_inv.reversal is null or p_inv.reversal_acknowledged_at is not null then
    perform app.fail('PT409', 'this investment has no open refund or dispute alert');
  end if;
  update app.investments set reversal_acknowledged_at = now(), updated_at = now()
   where id = p_inv.id returning * into v_new;
  return v_new;
end
$$;

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
  v_new := case p_action when 'accept' then app.accept_investment(v_inv)
                         when 'cancel' then app.cancel_investment(v_inv)
                         else app.acknowledge_reversal(v_inv) end;

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
