-- Reconciliation support: fee-bump attempts, nonce gap filling, the chain audit and its history,
-- and token alerts for the dashboard.

-- A replacement signed at the same nonce with higher fees. Every attempt is kept, so whichever
-- one is mined can be confirmed.
create or replace function public.record_transfer_attempt(
  p_transfer_id uuid, p_tx_hash text, p_raw_tx text, p_max_fee_per_gas numeric, p_max_priority_fee_per_gas numeric
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text;
begin
  perform app.require_service('only the service role records transfer attempts');
  v_hash := app.require_signed_tx(p_tx_hash, p_raw_tx);
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status not in ('signed', 'broadcast') then
    perform app.fail('PT409', 'only a signed or broadcast transfer can be replaced; it is ' || v_t.status);
  end if;
  if p_max_fee_per_gas is null or p_max_fee_per_gas <= v_t.max_fee_per_gas then
    perform app.fail('PT400', 'a replacement must raise the fee');
  end if;
  -- No transaction is ever signed above the chain's cap, replacements included.
  if p_max_fee_per_gas > (app.chain_policy(v_t.chain_id)).max_fee_per_gas
     or p_max_priority_fee_per_gas > (app.chain_policy(v_t.chain_id)).max_priority_fee_per_gas then
    perform app.fail('PT409', 'a replacement above the chain''s fee cap (admin_set_chain_policy)');
  end if;
  insert into app.transfer_attempts (transfer_id, tx_hash, raw_tx, max_fee_per_gas, max_priority_fee_per_gas)
  values (v_t.id, v_hash, p_raw_tx, p_max_fee_per_gas, p_max_priority_fee_per_gas)
  on conflict do nothing;
  -- The row now describes the newest attempt: re-signing it from the row gives these bytes.
  update app.token_transfers
     set tx_hash = v_hash, raw_tx = p_raw_tx, max_fee_per_gas = p_max_fee_per_gas,
         max_priority_fee_per_gas = p_max_priority_fee_per_gas, updated_at = now()
   where id = v_t.id;
  return jsonb_build_object('transfer_id', v_t.id, 'tx_hash', v_hash,
    'attempts', (select count(*) from app.transfer_attempts where transfer_id = v_t.id));
end
$$;
comment on function public.record_transfer_attempt(uuid, text, text, numeric, numeric) is
  'Service: stores a fee-bumped replacement of a stuck transfer (same nonce, higher fees) before it '
  'is broadcast. Every attempt stays confirmable.';
revoke all on function public.record_transfer_attempt(uuid, text, text, numeric, numeric) from public;
grant execute on function public.record_transfer_attempt(uuid, text, text, numeric, numeric) to service_role;

-- A released nonce that the reconciler filled with a no-op transaction is used up.
create or replace function public.consume_released_nonce(p_chain_id bigint, p_signer text, p_nonce bigint)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role manages nonces');
  delete from app.released_nonces where chain_id = p_chain_id and signer = lower(p_signer) and nonce = p_nonce;
  return found;
end
$$;
comment on function public.consume_released_nonce(bigint, text, bigint) is
  'Service: marks a released nonce as used (the reconciler filled the gap with a no-op transaction).';
revoke all on function public.consume_released_nonce(bigint, text, bigint) from public;
grant execute on function public.consume_released_nonce(bigint, text, bigint) to service_role;

create or replace function public.released_nonces(p_chain_id bigint, p_signer text,
  p_base_fee_per_gas numeric default null, p_priority_fee_per_gas numeric default null,
  p_chain_next_nonce bigint default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_fee numeric;
  v_tip numeric;
begin
  perform app.require_service('only the service role manages nonces');
  perform app.require_whole(p_base_fee_per_gas, 'p_base_fee_per_gas', false);
  perform app.require_whole(p_priority_fee_per_gas, 'p_priority_fee_per_gas', false);
  -- A gap filler is a transaction like any other: signed at what the chain asks, under the cap.
  select f.max_fee_per_gas, f.max_priority_fee_per_gas into v_fee, v_tip
    from app.signing_fees(p_chain_id, p_base_fee_per_gas, p_priority_fee_per_gas) f;
  return jsonb_build_object(
    'released', coalesce((select jsonb_agg(nonce order by nonce) from app.released_nonces
                           where chain_id = p_chain_id and signer = lower(p_signer)), '[]'::jsonb),
    'max_live_nonce', (select max(nonce) from app.token_transfers where chain_id = p_chain_id
                          and signer = lower(p_signer) and status = any (app.live_transfer_statuses())),
    'max_fee_per_gas', v_fee::text,
    'max_priority_fee_per_gas', v_tip::text,
    -- The nonce the chain expects next (with nothing of ours pending at it) is a gap when no
    -- transfer holds it and live ones wait above it: e.g. a gap filler that a reorg took away.
    'chain_next_is_gap', p_chain_next_nonce is not null
      and not exists (select 1 from app.token_transfers t where t.chain_id = p_chain_id
                       and t.signer = lower(p_signer) and t.nonce = p_chain_next_nonce and t.status <> 'failed')
      and exists (select 1 from app.token_transfers t where t.chain_id = p_chain_id
                   and t.signer = lower(p_signer) and t.nonce > p_chain_next_nonce
                   and t.status = any (app.live_transfer_statuses())));
end
$$;
comment on function public.released_nonces(bigint, text, numeric, numeric, bigint) is
  'Service: released (reusable) nonces and the highest nonce still in flight, to find gaps, with '
  'the fees a gap filler may be signed with (from the chain''s quote, under its cap; null above it), '
  'and whether the chain''s next nonce (p_chain_next_nonce) is a gap no transfer will fill.';
revoke all on function public.released_nonces(bigint, text, numeric, numeric, bigint) from public;
grant execute on function public.released_nonces(bigint, text, numeric, numeric, bigint) to service_role;

create table app.reconciliation_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default now(),
  summary jsonb not null,
  -- The holders its audit covered ({from, through, pass_complete}); null: a run recorded without
  -- a range, whose discrepancies all stand as the latest run's.
  audit jsonb
);
alter table app.reconciliation_runs enable row level security;

create table app.token_discrepancies (
  id bigint generated always as identity primary key,
  run_id bigint not null references app.reconciliation_runs (id),
  kind text not null,
  user_id uuid,
  tokenization_id uuid,
  detail jsonb not null,
  created_at timestamptz not null default now()
);
create index token_discrepancies_run on app.token_discrepancies (run_id);
alter table app.token_discrepancies enable row level security;

-- The audit walks every holder over successive reconciler runs, a few pages a run (the edge
-- runtime's CPU and time limits), in (user_id, tokenization_id) order from a stored cursor. A pass
-- ends when the last holder was audited; the next run starts the next pass from the first.
create table app.token_audit_cursor (
  id boolean primary key default true check (id),
  -- The last holder audited in the pass under way; null: the next run starts a pass.
  after_user_id uuid,
  after_tokenization_id uuid,
  pass_started_at timestamptz,
  pass_audited bigint not null default 0,
  last_pass_completed_at timestamptz,
  last_pass_holders bigint
);
alter table app.token_audit_cursor enable row level security;

-- Each holder's latest audit: the run that last compared it, and whether that run found it
-- inconsistent. A holder's discrepancy stands until a later run audits the holder again.
create table app.holder_audits (
  user_id uuid not null,
  tokenization_id uuid not null,
  run_id bigint not null references app.reconciliation_runs (id),
  discrepant boolean not null,
  primary key (user_id, tokenization_id)
);
create index holder_audits_discrepant on app.holder_audits (run_id) where discrepant;
alter table app.holder_audits enable row level security;

-- The discrepancy kinds found per holder; the others (treasury_vs_books, audit_unavailable,
-- reorg_detected) are found whole by every run.
create or replace function app.holder_discrepancy_kinds()
returns text[]
language sql
immutable
set search_path = ''
as $$ select array['holdings_vs_distributed', 'chain_vs_holdings'] $$;

-- The discrepancies that stand now: a holder's from the run that audited the holder last, the
-- others (and all of a latest run recorded without an audit range) from the latest run. Every
-- reader of "open discrepancies" reads them here.
create or replace function app.current_discrepancies()
returns setof app.token_discrepancies
language sql
stable
set search_path = ''
as $$
  select d.* from app.token_discrepancies d
    join app.reconciliation_runs r on r.id = d.run_id
   where d.run_id = (select max(r.id) from app.reconciliation_runs r)
     and (d.kind <> all (app.holder_discrepancy_kinds()) or r.audit is null)
  union all
  select d.* from app.holder_audits a
    join app.token_discrepancies d
      on d.run_id = a.run_id and d.user_id = a.user_id and d.tokenization_id = a.tokenization_id
   where a.discrepant and d.kind = any (app.holder_discrepancy_kinds())
$$;

-- What the audit compares on chain: a page of holders (the wallet and the books), and per token
-- what the treasury should still hold.
create or replace function public.token_audit_targets(p_limit int default 1000, p_after jsonb default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_cursor app.token_audit_cursor;
  v_after_user uuid;
  v_after_tokenization uuid;
  v_holders jsonb;
  v_last jsonb;
begin
  perform app.require_service('only the service role audits');
  if p_limit is null or p_limit < 1 or p_limit > 5000 then
    perform app.fail('PT400', 'p_limit must be 1-5000');
  end if;
  select * into v_cursor from app.token_audit_cursor where id;
  if p_after is null then
    v_after_user := v_cursor.after_user_id;
    v_after_tokenization := v_cursor.after_tokenization_id;
  elsif jsonb_typeof(p_after) <> 'object' or not (p_after ?& array['user_id', 'tokenization_id']) then
    perform app.fail('PT400', 'p_after must be {user_id, tokenization_id} (next_after of a page)');
  else
    v_after_user := app.require_uuid(p_after ->> 'user_id', 'p_after.user_id');
    v_after_tokenization := app.require_uuid(p_after ->> 'tokenization_id', 'p_after.tokenization_id');
  end if;
  with page as (
    select h.user_id, h.tokenization_id, h.balance
      from app.token_holdings h
     where v_after_user is null or (h.user_id, h.tokenization_id) > (v_after_user, v_after_tokenization)
     order by h.user_id, h.tokenization_id
     limit p_limit
  )
  select jsonb_agg(jsonb_build_object(
           'user_id', h.user_id, 'tokenization_id', h.tokenization_id, 'wallet_address', p.wallet_address,
           'token_address', t.token_address, 'chain_id', t.chain_id, 'holdings', h.balance::text,
           'distributed', coalesce((select sum(i.tokens) from app.investments i where i.user_id = h.user_id
              and i.tokenization_id = h.tokenization_id and i.payment_status = 'tokens_distributed'), 0)::text,
           -- Signed or broadcast transfers may be mined before they are confirmed here.
           'in_flight', coalesce((select sum(x.amount) from app.token_transfers x where x.user_id = h.user_id
              and x.tokenization_id = h.tokenization_id and x.status = any (app.live_transfer_statuses())
              and x.status <> 'planned'), 0)::text)
           order by h.user_id, h.tokenization_id),
         (array_agg(jsonb_build_object('user_id', h.user_id, 'tokenization_id', h.tokenization_id)
           order by h.user_id desc, h.tokenization_id desc))[1]
    into v_holders, v_last
    from page h
    join app.tokenizations t on t.id = h.tokenization_id
    join app.profiles p on p.user_id = h.user_id;
  return jsonb_build_object(
    'holders', coalesce(v_holders, '[]'::jsonb),
    -- null after the last holder: the pass ends with this page.
    'next_after', case when jsonb_array_length(coalesce(v_holders, '[]'::jsonb)) = p_limit then v_last end,
    'from', case when v_after_user is not null
                 then jsonb_build_object('user_id', v_after_user, 'tokenization_id', v_after_tokenization) end,
    'tokens', coalesce((
      select jsonb_agg(jsonb_build_object(
               'tokenization_id', t.id, 'token_address', t.token_address, 'chain_id', t.chain_id,
               'holdings_total', coalesce((select sum(h.balance) from app.token_holdings h
                                            where h.tokenization_id = t.id), 0)::text,
               'in_flight_total', coalesce((select sum(x.amount) from app.token_transfers x
                                             where x.tokenization_id = t.id and x.status = any (app.live_transfer_statuses())
                                               and x.status <> 'planned'), 0)::text))
        from app.tokenizations t), '[]'::jsonb),
    'pass', app.audit_progress());
end
$$;
comment on function public.token_audit_targets(int, jsonb) is
  'Service: a page of at most p_limit (1-5000) holders, in (user_id, tokenization_id) order after '
  'p_after or, without it, after the stored audit cursor, with their wallets and books; '
  'next_after (the last holder; null when the pass ends with this page), from (where the page '
  'started), the per-token totals the treasury is compared with, and pass (the audit''s progress).';
revoke all on function public.token_audit_targets(int, jsonb) from public;
grant execute on function public.token_audit_targets(int, jsonb) to service_role;

-- The audit's progress: how far the pass under way is, and when the last one ended.
create or replace function app.audit_progress()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'started_at', c.pass_started_at,
    'audited', coalesce(c.pass_audited, 0),
    'holders', (select count(*) from app.token_holdings),
    'last_completed_at', c.last_pass_completed_at,
    'last_pass_holders', c.last_pass_holders)
    from (select 1) one left join app.token_audit_cursor c on c.id
$$;

create or replace function public.record_reconciliation_run(p_summary jsonb, p_discrepancies jsonb,
  p_audit jsonb default null)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run bigint;
  v_from_user uuid;
  v_from_tokenization uuid;
  v_through_user uuid;
  v_through_tokenization uuid;
  v_count bigint;
  v_complete boolean;
begin
  perform app.require_service('only the service role records reconciliation runs');
  if p_audit is not null and (jsonb_typeof(p_audit) <> 'object'
     or coalesce(jsonb_typeof(p_audit -> 'through'), '') not in ('object', 'null')
     or coalesce(jsonb_typeof(p_audit -> 'pass_complete'), '') <> 'boolean') then
    perform app.fail('PT400', 'p_audit must be {from, through, pass_complete} of the pages audited');
  end if;
  insert into app.reconciliation_runs (summary, audit) values (coalesce(p_summary, '{}'::jsonb), p_audit)
  returning id into v_run;
  insert into app.token_discrepancies (run_id, kind, user_id, tokenization_id, detail)
  select v_run, coalesce(d ->> 'kind', 'unknown'), (d ->> 'user_id')::uuid, (d ->> 'tokenization_id')::uuid, d
    from jsonb_array_elements(coalesce(p_discrepancies, '[]'::jsonb)) d;
  if p_audit is null then
    return v_run;
  end if;
  v_complete := (p_audit ->> 'pass_complete')::boolean;
  if jsonb_typeof(p_audit -> 'through') = 'object' then
    v_from_user := app.require_uuid(p_audit #>> '{from,user_id}', 'p_audit.from.user_id', false);
    v_from_tokenization := app.require_uuid(p_audit #>> '{from,tokenization_id}', 'p_audit.from.tokenization_id', false);
    v_through_user := app.require_uuid(p_audit #>> '{through,user_id}', 'p_audit.through.user_id');
    v_through_tokenization := app.require_uuid(p_audit #>> '{through,tokenization_id}', 'p_audit.through.tokenization_id');
    -- Every holder in (from, through] was compared by this run: its latest audit is this one.
    insert into app.holder_audits (user_id, tokenization_id, run_id, discrepant)
    select h.user_id, h.tokenization_id, v_run,
           exists (select 1 from app.token_discrepancies d where d.run_id = v_run and d.user_id = h.user_id
                     and d.tokenization_id = h.tokenization_id and d.kind = any (app.holder_discrepancy_kinds()))
      from app.token_holdings h
     where (v_from_user is null or (h.user_id, h.tokenization_id) > (v_from_user, v_from_tokenization))
       and (h.user_id, h.tokenization_id) <= (v_through_user, v_through_tokenization)
       -- A holder of a token this run could not read was not compared: its last audit stands.
       and not exists (select 1 from app.token_discrepancies d where d.run_id = v_run
                         and d.kind = 'audit_unavailable' and d.tokenization_id = h.tokenization_id)
    on conflict (user_id, tokenization_id) do update
       set run_id = excluded.run_id, discrepant = excluded.discrepant
     where app.holder_audits.run_id < excluded.run_id;
    get diagnostics v_count = row_count;
  end if;
  v_count := coalesce(v_count, 0);
  -- The cursor moves forward only (two runs at once audit the same page; the later one ends it).
  insert into app.token_audit_cursor (id) values (true) on conflict do nothing;
  update app.token_audit_cursor c
     set after_user_id = case when v_complete then null else v_through_user end,
         after_tokenization_id = case when v_complete then null else v_through_tokenization end,
         pass_started_at = case when v_complete then null
                                else coalesce(c.pass_started_at, now()) end,
         pass_audited = case when v_complete then 0 else c.pass_audited + v_count end,
         last_pass_completed_at = case when v_complete then now()
                                       else c.last_pass_completed_at end,
         last_pass_holders = case when v_complete then c.pass_audited + v_count
                                  else c.last_pass_holders end
   where c.id
     and (v_complete
          or (v_through_user is not null and (c.after_user_id is null
              or (c.after_user_id, c.after_tokenization_id) < (v_through_user, v_through_tokenization))));
  return v_run;
end
$$;
comment on function public.record_reconciliation_run(jsonb, jsonb, jsonb) is
  'Service: stores a reconciliation run''s counts and the discrepancies it found; with p_audit '
  '{from, through, pass_complete} (the holders its audit pages covered: after from, through '
  'through) it records each of those holders as audited by this run and moves the audit cursor '
  '(back to the first holder when the pass is complete). Returns the run id.';
revoke all on function public.record_reconciliation_run(jsonb, jsonb, jsonb) from public;
grant execute on function public.record_reconciliation_run(jsonb, jsonb, jsonb) to service_role;

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
    select jsonb_agg(a order by a ->> 'kind')
      from (
        select jsonb_build_object('kind', 'stuck_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
                 'status', t.status, 'nonce', t.nonce, 'since', t.updated_at) as a
          from app.token_transfers t
         where t.status = any (app.live_transfer_statuses()) and t.updated_at < now() - p_stuck_after
        union all
        select jsonb_build_object('kind', 'failed_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
                 'error', t.error, 'at', t.updated_at, 'since', t.updated_at)
          from app.token_transfers t
         where t.status = 'failed' and t.updated_at > now() - interval '7 days'
        union all
        select jsonb_build_object('kind', case when d.kind in ('audit_unavailable', 'reorg_detected') then d.kind
                                               else 'discrepancy' end, 'run_id', d.run_id, 'user_id', d.user_id,
                 'tokenization_id', d.tokenization_id, 'detail', d.detail, 'since', r.started_at)
          from app.current_discrepancies() d join app.reconciliation_runs r on r.id = d.run_id
        union all
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
        -- Fees above the cap: nothing is signed on that chain until they fall.
        select jsonb_build_object('kind', 'fee_cap_exceeded', 'chain_id', f.chain_id,
                 'base_fee_per_gas', f.base_fee_per_gas::text,
                 'max_fee_per_gas', (app.chain_policy(f.chain_id)).max_fee_per_gas::text,
                 'since', f.cap_exceeded_since,
                 'hint', 'transfers wait until fees fall, or raise the cap with admin_set_chain_policy')
          from app.chain_fee_state f where f.cap_exceeded_since is not null
        union all
        -- The treasury short of tokens or gas: what does not fit waits (treasury guard).
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
        -- Money that went back after its tokens were claimed: nothing is undone on chain; a
        -- person decides (recover the tokens off-platform, or accept the loss), then acknowledges.
        select jsonb_build_object('kind', i.reversal || '_after_distribution', 'investment_id', i.id,
                 'user_id', i.user_id, 'payment_status', i.payment_status, 'tokens', i.tokens::text,
                 'since', i.reversal_at,
                 'hint', 'acknowledge with admin_resolve_investment once handled')
          from app.investments i
         where i.reversal is not null and i.reversal_acknowledged_at is null
           and i.payment_status in ('distributing', 'tokens_distributed')
        union all
        -- A token contract distribution could not read: its investments wait, the others go out.
        select jsonb_build_object('kind', 'token_unreadable', 'tokenization_id', t.id,
                 'property_id', t.property_id, 'chain_id', t.chain_id, 'token_address', t.token_address,
                 'since', t.unreadable_since, 'error', t.unreadable_error,
                 'waiting', (select count(*) from app.investments i
                              where i.tokenization_id = t.id and i.payment_status = 'confirmed'),
                 'hint', 'check the tokenization''s contract address and chain (is the token deployed '
                         || 'there?); its investments go out once a run can read it')
          from app.tokenizations t where t.unreadable_since is not null
        union all
        -- Payments (17_paystack_verification.sql): events that could not be applied, partial
        -- refunds, refunds that need attention, payments never verified, a silent webhook.
        select p from app.paystack_alerts() p
      ) x), '[]'::jsonb);
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
