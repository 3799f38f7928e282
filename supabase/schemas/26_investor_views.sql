-- What an investor sees of their investments and holdings: security_invoker views over their own
-- rows (RLS below them).

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
