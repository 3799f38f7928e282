-- The token pipeline's alerts for the dashboard (admin_token_alerts): stuck and failed transfers,
-- fee caps, the treasury, the audit's discrepancies and Paystack's events, each as a record.

-- Transfers: live (holding a nonce, not final: app.live_transfer_statuses) and unchanged for longer
-- than p_stuck_after; failed in the last 7 days.
create or replace function app.transfer_alerts(p_stuck_after interval)
returns setof jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('kind', 'stuck_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
           'status', t.status, 'nonce', t.nonce, 'since', t.updated_at)
    from app.token_transfers t
   where t.status = any (app.live_transfer_statuses()) and t.updated_at < now() - p_stuck_after
  union all
  select jsonb_build_object('kind', 'failed_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
           'error', t.error, 'at', t.updated_at, 'since', t.updated_at)
    from app.token_transfers t
   where t.status = 'failed' and t.updated_at > now() - interval '7 days'
$$;

-- Investments that wait on a person: the investor (KYC, a wallet), an operator (an amount that
-- does not match, three failed transfers), or money that went back after its tokens were claimed.
create or replace function app.investment_alerts()
returns setof jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('kind', case when p.kyc_status <> 'verified' then 'waiting_on_kyc'
                                         else 'waiting_on_wallet' end,
           'user_id', i.user_id, 'investments', count(*), 'tokens', sum(i.tokens)::text,
           'since', min(i.updated_at))
    from app.investments i join app.profiles p on p.user_id = i.user_id
   where i.payment_status = 'confirmed' and (p.kyc_status <> 'verified' or p.wallet_address is null)
   group by i.user_id, p.kyc_status
  union all
  select jsonb_build_object('kind', 'amount_mismatch', 'investment_id', i.id, 'user_id', i.user_id,
           'since', i.updated_at)
    from app.investments i where i.payment_status = 'amount_mismatch'
  union all
  select jsonb_build_object('kind', 'investment_failed', 'investment_id', i.id, 'user_id', i.user_id,
           'since', i.updated_at,
           'hint', 'three transfers failed; fix the cause, then set it back to confirmed')
    from app.investments i
   where i.payment_status = 'failed'
     -- A cancelled investment (admin_resolve_investment) is failed too, but needs no one.
     and exists (select 1 from app.investment_events e
                  where e.investment_id = i.id and e.status = 'failed')
  union all
  -- Nothing is undone on chain; a person decides (recover the tokens off-platform, or accept the
  -- loss), then acknowledges.
  select jsonb_build_object('kind', i.reversal || '_after_distribution', 'investment_id', i.id,
           'user_id', i.user_id, 'payment_status', i.payment_status, 'tokens', i.tokens::text,
           'since', i.reversal_at,
           'hint', 'acknowledge with admin_resolve_investment once handled')
    from app.investments i
   where i.reversal is not null and i.reversal_acknowledged_at is null
     and i.payment_status = any (app.claimed_statuses())
$$;

-- The chain and the treasury: the latest audit's discrepancies, fees above the cap (nothing is
-- signed on that chain until they fall), a treasury short of tokens or gas (what does not fit
-- waits: 18_treasury_guard.sql), a token contract distribution could not read (its investments
-- wait, the others go out).
create or replace function app.chain_alerts()
returns setof jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object('kind', case when d.kind in ('audit_unavailable', 'reorg_detected') then d.kind
                                         else 'discrepancy' end, 'run_id', d.run_id, 'user_id', d.user_id,
           'tokenization_id', d.tokenization_id, 'detail', d.detail, 'since', r.started_at)
    from app.current_discrepancies() d join app.reconciliation_runs r on r.id = d.run_id
  union all
  select jsonb_build_object('kind', 'fee_cap_exceeded', 'chain_id', f.chain_id,
           'base_fee_per_gas', f.base_fee_per_gas::text,
           'max_fee_per_gas', (app.chain_policy(f.chain_id)).max_fee_per_gas::text,
           'since', f.cap_exceeded_since,
           'hint', 'transfers wait until fees fall, or raise the cap with admin_set_chain_policy')
    from app.chain_fee_state f where f.cap_exceeded_since is not null
  union all
  select jsonb_build_object('kind', k.kind, 'chain_id', s.chain_id, 'signer', s.signer,
           'since', k.since, 'detail', s.detail,
           'hint', 'transfers wait until the treasury is topped up: ' || k.what)
    from app.treasury_state s
    cross join lateral (values
      ('treasury_insufficient_tokens', s.tokens_short_since, 'send it the property tokens'),
      ('treasury_insufficient_gas', s.gas_short_since, 'send it the chain''s native coin')
    ) k (kind, since, what)
   where k.since is not null
  union all
  select jsonb_build_object('kind', 'token_unreadable', 'tokenization_id', t.id,
           'property_id', t.property_id, 'chain_id', t.chain_id, 'token_address', t.token_address,
           'since', t.unreadable_since, 'error', t.unreadable_error,
           'waiting', (select count(*) from app.investments i
                        where i.tokenization_id = t.id and i.payment_status = 'confirmed'),
           'hint', 'check the tokenization''s contract address and chain (is the token deployed '
                   || 'there?); its investments go out once a run can read it')
    from app.tokenizations t where t.unreadable_since is not null
$$;

-- Every alert of the token pipeline, by kind; the payments' own come from app.paystack_alerts
-- (24_paystack_verification.sql).
create or replace function public.admin_token_alerts(p_stuck_after interval default '10 minutes')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  return coalesce((
    select jsonb_agg(x.a order by x.a ->> 'kind')
      from (select a from app.transfer_alerts(p_stuck_after) a
            union all select a from app.investment_alerts() a
            union all select a from app.chain_alerts() a
            union all select a from app.paystack_alerts() a) x), '[]'::jsonb);
end
$$;
comment on function public.admin_token_alerts(interval) is
  'Admin or service: token pipeline alerts: stuck_transfer, failed_transfer (7 days), discrepancy '
  '(latest reconciliation run), audit_unavailable (a tokenization whose chain or contract could not '
  'be read in the latest run), waiting_on_kyc, waiting_on_wallet, amount_mismatch, investment_failed '
  '(three failed transfers: needs a person), refund_after_distribution and dispute_after_distribution '
  '(money went back after the tokens were claimed; until acknowledged), fee_cap_exceeded (the chain '
  'asks more than its fee cap: nothing is signed there until fees fall), treasury_insufficient_tokens '
  'and treasury_insufficient_gas (what the treasury cannot pay for waits), reorg_detected (a confirmed '
  'transfer no longer on the chain, in the latest run: never paid again automatically), '
  'token_unreadable (a token contract distribution cannot read: its investments wait), '
  'paystack_event_unprocessable (a signed charge, refund or dispute that could not be applied), '
  'partial_refund and refund_needs_attention (held investments), payment_unverified (pending past '
  'paystack_payment_window) and webhook_silent (no signed event for paystack_silence_alert_after). '
  'Every alert has a kind and a since (when its condition began, as far as the books know).';
revoke all on function public.admin_token_alerts(interval) from public;
grant execute on function public.admin_token_alerts(interval) to authenticated, service_role;
