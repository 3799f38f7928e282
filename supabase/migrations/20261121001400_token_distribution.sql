-- The token distribution state machine. Investments: confirmed -> distributing (claimed into a
-- transfer) -> tokens_distributed (only in the transaction that confirms the transfer), or back
-- to confirmed when the transfer fails. Transfers: planned -> signed -> broadcast -> confirmed,
-- or failed.

create or replace function app.transfer_json(p app.token_transfers)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'transfer_id', p.id,
    'tokenization_id', p.tokenization_id,
    'user_id', p.user_id,
    'to_address', p.to_address,
    'token_address', p.token_address,
    'chain_id', p.chain_id,
    'signer', p.signer,
    'amount', p.amount::text,
    'nonce', p.nonce,
    'gas_limit', p.gas_limit,
    'max_fee_per_gas', p.max_fee_per_gas::text,
    'max_priority_fee_per_gas', p.max_priority_fee_per_gas::text,
    'status', p.status,
    'tx_hash', p.tx_hash,
    'raw_tx', p.raw_tx,
    'attempt_hashes', coalesce((select jsonb_agg(a.tx_hash order by a.created_at)
                                 from app.transfer_attempts a where a.transfer_id = p.id), '[]'::jsonb),
    'investment_ids', coalesce((select jsonb_agg(i.id order by i.created_at)
                                 from app.investments i where i.transfer_id = p.id), '[]'::jsonb),
    'updated_at', p.updated_at
  )
$$;

create or replace function public.claim_token_distributions(
  p_worker text,
  p_signer text,
  p_chain_id bigint,
  p_chain_nonce bigint,
  p_limit int default 50,
  p_user_id uuid default null,
  p_tokenization_id uuid default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_signer text := lower(coalesce(p_signer, ''));
  v_next bigint;
  v_released bigint[];
  v_groups int;
  v_base bigint;
  v_result jsonb;
begin
  perform app.require_service('only the service role claims distributions');
  if v_signer !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_signer must be the treasury address');
  end if;
  if p_chain_id is null or p_chain_id <= 0 or p_chain_nonce is null or p_chain_nonce < 0 then
    perform app.fail('PT400', 'p_chain_id and p_chain_nonce are required');
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform app.fail('PT400', 'p_limit must be between 1 and 1000');
  end if;

  -- The treasury's nonce row lock serialises claims for this signer (F7): two claims can never
  -- hand out the same nonce. Transaction-scoped, so it is safe behind a pooler.
  insert into app.treasury_nonces (chain_id, signer, next_nonce) values (p_chain_id, v_signer, p_chain_nonce)
  on conflict do nothing;
  select next_nonce into v_next from app.treasury_nonces
   where chain_id = p_chain_id and signer = v_signer for update;
  -- Released nonces below the chain's count were used by something else meanwhile: drop them.
  delete from app.released_nonces
   where chain_id = p_chain_id and signer = v_signer and nonce < p_chain_nonce;

  -- Nonces: released ones first (lowest first), then fresh ones from greatest(stored, chain).
  v_released := array(select nonce from app.released_nonces
                        where chain_id = p_chain_id and signer = v_signer order by nonce limit 1000);
  v_base := greatest(v_next, p_chain_nonce);

  -- One statement: lock, group, number, allocate nonces, write transfers, move investments.
  with candidates as (
    select i.id, i.user_id, i.tokenization_id, i.tokens, i.created_at
      from app.investments i
     where i.payment_status = 'confirmed'
       and (p_user_id is null or i.user_id = p_user_id)
       and (p_tokenization_id is null or i.tokenization_id = p_tokenization_id)
       and exists (select 1 from app.profiles p where p.user_id = i.user_id
                      and p.kyc_status = 'verified' and p.wallet_address is not null)
       and exists (select 1 from app.tokenizations t where t.id = i.tokenization_id and t.chain_id = p_chain_id)
     order by i.created_at
     limit p_limit * 50
       for update of i skip locked
  ), grouped as (
    select c.user_id, c.tokenization_id, sum(c.tokens) as amount,
           array_agg(c.id order by c.created_at) as investment_ids, min(c.created_at) as first_at
      from candidates c
     group by c.user_id, c.tokenization_id
     order by min(c.created_at), c.user_id
     limit p_limit
  ), planned as materialized (
    select gen_random_uuid() as transfer_id, g.*, p.wallet_address as to_address, t.token_address,
           case when n.ord <= coalesce(array_length(v_released, 1), 0) then v_released[n.ord]
                else v_base + (n.ord - coalesce(array_length(v_released, 1), 0) - 1) end as nonce
      from (select g0.*, row_number() over (order by g0.first_at, g0.user_id) as ord from grouped g0) n
      join grouped g on g.user_id = n.user_id and g.tokenization_id = n.tokenization_id
      join app.profiles p on p.user_id = g.user_id
      join app.tokenizations t on t.id = g.tokenization_id
  ), transfers as (
    insert into app.token_transfers (id, tokenization_id, user_id, to_address, token_address, chain_id, signer,
      nonce, amount, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, worker)
    select pl.transfer_id, pl.tokenization_id, pl.user_id, pl.to_address, pl.token_address, p_chain_id, v_signer,
           pl.nonce, pl.amount, app.setting('transfer_gas_limit')::bigint,
           app.setting('transfer_max_fee_per_gas')::numeric, app.setting('transfer_max_priority_fee_per_gas')::numeric,
           left(p_worker, 200)
      from planned pl
    returning *
  ), moved as (
    update app.investments i
       set payment_status = 'distributing', transfer_id = pl.transfer_id, updated_at = now()
      from planned pl
     where i.id = any (pl.investment_ids)
    returning i.id, pl.transfer_id
  ), events as (
    insert into app.investment_events (investment_id, status, transfer_id, detail)
    select m.id, 'processing', m.transfer_id, 'claimed by ' || left(p_worker, 200) from moved m
  )
  select jsonb_agg(jsonb_build_object(
           'transfer_id', t.id, 'tokenization_id', t.tokenization_id, 'user_id', t.user_id,
           'to_address', t.to_address, 'token_address', t.token_address, 'chain_id', t.chain_id,
           'signer', t.signer, 'amount', t.amount::text, 'nonce', t.nonce, 'gas_limit', t.gas_limit,
           'max_fee_per_gas', t.max_fee_per_gas::text,
           'max_priority_fee_per_gas', t.max_priority_fee_per_gas::text,
           'investment_ids', to_jsonb(pl.investment_ids)) order by t.nonce),
         count(*)
    into v_result, v_groups
    from transfers t join planned pl on pl.transfer_id = t.id;
  if v_groups = 0 then
    return '[]'::jsonb;
  end if;

  delete from app.released_nonces
   where chain_id = p_chain_id and signer = v_signer
     and nonce = any (v_released[1:least(v_groups, coalesce(array_length(v_released, 1), 0))]);
  update app.treasury_nonces
     set next_nonce = greatest(next_nonce,
           v_base + greatest(v_groups - coalesce(array_length(v_released, 1), 0), 0))
   where chain_id = p_chain_id and signer = v_signer;
  return v_result;
end
$$;
comment on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid) is
  'Service: claims confirmed investments of KYC-verified investors with a wallet (SKIP LOCKED), '
  'aggregated per (user, tokenization), at most p_limit transfers. Allocates nonces under the '
  'treasury row lock from greatest(stored next nonce, p_chain_nonce), released nonces first, and '
  'moves the investments to distributing. Returns [{transfer_id, tokenization_id, user_id, '
  'to_address, token_address, chain_id, amount, nonce, investment_ids, gas_limit, fees...}].';
revoke all on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid) from public;
grant execute on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid) to service_role;

-- record_signed_transfer(s) --------------------------------------------------------------------
create or replace function app.record_signed(p_transfer_id uuid, p_tx_hash text, p_raw_tx text)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text := lower(coalesce(p_tx_hash, ''));
begin
  if v_hash !~ '^0x[0-9a-f]{64}$' or coalesce(p_raw_tx, '') !~ '^0x[0-9a-fA-F]+$' then
    perform app.fail('PT400', 'p_tx_hash must be a 32-byte 0x hash and p_raw_tx 0x-prefixed hex');
  end if;
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.tx_hash is not null then
    if v_t.tx_hash = v_hash then
      return jsonb_build_object('transfer_id', v_t.id, 'status', v_t.status, 'duplicate', true);
    end if;
    perform app.fail('PT409', 'transfer already signed with another hash',
      'sign it again from its row: the bytes are deterministic');
  end if;
  if v_t.status <> 'planned' then
    perform app.fail('PT409', 'transfer is ' || v_t.status || ': it cannot be signed now');
  end if;
  update app.token_transfers
     set status = 'signed', tx_hash = v_hash, raw_tx = p_raw_tx, signed_at = now(), updated_at = now()
   where id = v_t.id;
  insert into app.transfer_attempts (transfer_id, tx_hash, raw_tx, max_fee_per_gas, max_priority_fee_per_gas)
  values (v_t.id, v_hash, p_raw_tx, v_t.max_fee_per_gas, v_t.max_priority_fee_per_gas)
  on conflict do nothing;
  return jsonb_build_object('transfer_id', v_t.id, 'status', 'signed', 'duplicate', false);
end
$$;

create or replace function public.record_signed_transfer(p_transfer_id uuid, p_tx_hash text, p_raw_tx text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role records transfers');
  return app.record_signed(p_transfer_id, p_tx_hash, p_raw_tx);
end
$$;
comment on function public.record_signed_transfer(uuid, text, text) is
  'Service: stores a planned transfer''s signed raw transaction and hash before it is broadcast '
  '(the outbox). The same hash again is a no-op; a different hash is PT409.';
revoke all on function public.record_signed_transfer(uuid, text, text) from public;
grant execute on function public.record_signed_transfer(uuid, text, text) to service_role;

create or replace function public.record_signed_transfers(p_transfers jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role records transfers');
  if jsonb_typeof(p_transfers) is distinct from 'array' then
    perform app.fail('PT400', 'p_transfers must be an array of {transfer_id, tx_hash, raw_tx}');
  end if;
  return coalesce((
    select jsonb_agg(app.record_signed((e ->> 'transfer_id')::uuid, e ->> 'tx_hash', e ->> 'raw_tx'))
      from jsonb_array_elements(p_transfers) e), '[]'::jsonb);
end
$$;
comment on function public.record_signed_transfers(jsonb) is
  'Service: record_signed_transfer for many transfers in one round trip (all or nothing).';
revoke all on function public.record_signed_transfers(jsonb) from public;
grant execute on function public.record_signed_transfers(jsonb) to service_role;

create or replace function public.mark_transfers_broadcast(p_transfer_ids uuid[])
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_n int;
begin
  perform app.require_service('only the service role updates transfers');
  update app.token_transfers
     set status = 'broadcast', broadcast_at = coalesce(broadcast_at, now()), updated_at = now()
   where id = any (p_transfer_ids) and status = 'signed';
  get diagnostics v_n = row_count;
  return v_n;
end
$$;
comment on function public.mark_transfers_broadcast(uuid[]) is
  'Service: signed -> broadcast for the given transfers (others are left as they are).';
revoke all on function public.mark_transfers_broadcast(uuid[]) from public;
grant execute on function public.mark_transfers_broadcast(uuid[]) to service_role;

-- confirm ----------------------------------------------------------------------------------------
create or replace function app.confirm_transfer(p_transfer_id uuid, p_tx_hash text, p_block_number bigint)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text := lower(coalesce(p_tx_hash, ''));
begin
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status = 'confirmed' then
    if v_t.tx_hash <> v_hash then
      perform app.fail('PT409', 'transfer was confirmed with another hash: ' || v_t.tx_hash);
    end if;
    return jsonb_build_object('transfer_id', v_t.id, 'status', 'confirmed', 'already_confirmed', true);
  end if;
  if v_t.status = 'failed' then
    -- Mined after it was failed: its investments may have been planned again. Never pay twice:
    -- refuse, so that reconciliation reports it.
    perform app.fail('PT409', 'transfer ' || v_t.id || ' was failed but ' || v_hash || ' was mined',
      'investigate: reconciliation reports it as a discrepancy');
  end if;
  if not exists (select 1 from app.transfer_attempts a where a.transfer_id = v_t.id and a.tx_hash = v_hash) then
    perform app.fail('PT409', 'hash ' || v_hash || ' is not an attempt of this transfer');
  end if;
  update app.token_transfers
     set status = 'confirmed', tx_hash = v_hash, block_number = p_block_number, nonce_consumed = true,
         confirmed_at = now(), updated_at = now()
   where id = v_t.id;
  -- F6: holdings are added to, never replaced.
  insert into app.token_holdings as h (user_id, tokenization_id, balance)
  values (v_t.user_id, v_t.tokenization_id, v_t.amount)
  on conflict (user_id, tokenization_id)
  do update set balance = h.balance + excluded.balance, updated_at = now();
  with moved as (
    update app.investments
       set payment_status = 'tokens_distributed', distributed_at = now(), updated_at = now()
     where transfer_id = v_t.id and payment_status = 'distributing'
    returning id
  )
  insert into app.investment_events (investment_id, status, transfer_id, detail)
  select id, 'success', v_t.id, v_hash from moved;
  return jsonb_build_object('transfer_id', v_t.id, 'status', 'confirmed', 'already_confirmed', false);
end
$$;

create or replace function public.confirm_token_transfer(p_transfer_id uuid, p_tx_hash text, p_block_number bigint)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role confirms transfers');
  return app.confirm_transfer(p_transfer_id, p_tx_hash, p_block_number) - 'transfer_id';
end
$$;
comment on function public.confirm_token_transfer(uuid, text, bigint) is
  'Service: the transfer was mined successfully. Idempotent: {"status":"confirmed","already_confirmed":bool}. '
  'Adds the amount to token_holdings (never replaces) and moves its investments to tokens_distributed.';
revoke all on function public.confirm_token_transfer(uuid, text, bigint) from public;
grant execute on function public.confirm_token_transfer(uuid, text, bigint) to service_role;

create or replace function public.confirm_token_transfers(p_confirmations jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role confirms transfers');
  if jsonb_typeof(p_confirmations) is distinct from 'array' then
    perform app.fail('PT400', 'p_confirmations must be an array of {transfer_id, tx_hash, block_number}');
  end if;
  return coalesce((
    select jsonb_agg(app.confirm_transfer((e ->> 'transfer_id')::uuid, e ->> 'tx_hash', (e ->> 'block_number')::bigint))
      from jsonb_array_elements(p_confirmations) e), '[]'::jsonb);
end
$$;
comment on function public.confirm_token_transfers(jsonb) is
  'Service: confirm_token_transfer for many transfers in one round trip (all or nothing).';
revoke all on function public.confirm_token_transfers(jsonb) from public;
grant execute on function public.confirm_token_transfers(jsonb) to service_role;

-- fail -----------------------------------------------------------------------------------------
create or replace function public.fail_token_transfer(p_transfer_id uuid, p_error text, p_nonce_consumed boolean)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_released int;
begin
  perform app.require_service('only the service role fails transfers');
  if p_nonce_consumed is null then
    perform app.fail('PT400', 'p_nonce_consumed is required: was the nonce used on chain?');
  end if;
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status = 'confirmed' then
    perform app.fail('PT409', 'a confirmed transfer cannot fail');
  end if;
  if v_t.status = 'failed' then
    return jsonb_build_object('transfer_id', v_t.id, 'status', 'failed', 'already_failed', true, 'released', 0);
  end if;
  update app.token_transfers
     set status = 'failed', error = left(coalesce(p_error, 'failed'), 2000), nonce_consumed = p_nonce_consumed,
         updated_at = now()
   where id = v_t.id;
  if not p_nonce_consumed then
    insert into app.released_nonces (chain_id, signer, nonce) values (v_t.chain_id, v_t.signer, v_t.nonce)
    on conflict do nothing;
  end if;
  -- Released investments are claimed again, except after three failed transfers: then they stop
  -- as `failed` (listed by admin_token_alerts) instead of burning gas every minute forever.
  with released as (
    update app.investments i
       set payment_status = case
             when (select count(*) from app.investment_events e
                    where e.investment_id = i.id and e.status = 'failed') >= 2 then 'failed'
             else 'confirmed' end,
           transfer_id = null, updated_at = now()
     where i.transfer_id = v_t.id and i.payment_status = 'distributing'
    returning i.id
  ), ev as (
    insert into app.investment_events (investment_id, status, transfer_id, detail)
    select id, 'failed', v_t.id, left(coalesce(p_error, 'failed'), 2000) from released
  )
  select count(*) into v_released from released;
  return jsonb_build_object('transfer_id', v_t.id, 'status', 'failed', 'already_failed', false,
    'released', v_released, 'nonce_released', not p_nonce_consumed);
end
$$;
comment on function public.fail_token_transfer(uuid, text, boolean) is
  'Service: the transfer can never deliver (reverted, or never broadcast and never will be). Its '
  'investments return to confirmed for a later claim. With p_nonce_consumed = false the nonce is '
  'released and the next claim reuses it, leaving no gap. Idempotent; PT409 for a confirmed transfer.';
revoke all on function public.fail_token_transfer(uuid, text, boolean) from public;
grant execute on function public.fail_token_transfer(uuid, text, boolean) to service_role;

create or replace function public.transfers_to_reconcile(p_stale_after interval default '2 minutes')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role reconciles');
  return coalesce((
    select jsonb_agg(app.transfer_json(t) order by t.chain_id, t.signer, t.nonce)
      from app.token_transfers t
     where t.status in ('planned', 'signed', 'broadcast')
       and t.updated_at <= now() - coalesce(p_stale_after, '2 minutes'::interval)), '[]'::jsonb);
end
$$;
comment on function public.transfers_to_reconcile(interval) is
  'Service: transfers stuck in planned, signed or broadcast for longer than p_stale_after, with '
  'everything needed to sign, rebroadcast or look them up (raw_tx, every attempt hash).';
revoke all on function public.transfers_to_reconcile(interval) from public;
grant execute on function public.transfers_to_reconcile(interval) to service_role;

create or replace function public.token_distribution_report(p_tokenization_id uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  return coalesce((
    with keys as (
      select user_id, tokenization_id from app.token_holdings
      union
      select user_id, tokenization_id from app.investments
       where payment_status in ('confirmed', 'distributing', 'tokens_distributed')
    ), rows as (
      select k.user_id, k.tokenization_id,
             coalesce((select sum(i.tokens) from app.investments i where i.user_id = k.user_id
                        and i.tokenization_id = k.tokenization_id and i.payment_status = 'tokens_distributed'), 0) as distributed,
             coalesce((select h.balance from app.token_holdings h where h.user_id = k.user_id
                        and h.tokenization_id = k.tokenization_id), 0) as holdings,
             coalesce((select sum(i.tokens) from app.investments i where i.user_id = k.user_id
                        and i.tokenization_id = k.tokenization_id and i.payment_status = 'distributing'), 0) as in_flight,
             coalesce((select sum(i.tokens) from app.investments i where i.user_id = k.user_id
                        and i.tokenization_id = k.tokenization_id and i.payment_status = 'confirmed'), 0) as waiting
        from keys k
       where p_tokenization_id is null or k.tokenization_id = p_tokenization_id
    )
    select jsonb_agg(jsonb_build_object(
             'user_id', r.user_id, 'tokenization_id', r.tokenization_id,
             'distributed', r.distributed::text, 'holdings', r.holdings::text,
             'in_flight', r.in_flight::text, 'waiting', r.waiting::text,
             'discrepancy', r.distributed <> r.holdings)
           order by (r.distributed <> r.holdings) desc, r.tokenization_id, r.user_id)
      from rows r), '[]'::jsonb);
end
$$;
comment on function public.token_distribution_report(uuid) is
  'Admin or service: per (user, tokenization) the distributed sum, the holdings balance, what is in '
  'flight and what waits; "discrepancy" is true when holdings differ from what was distributed.';
revoke all on function public.token_distribution_report(uuid) from public;
grant execute on function public.token_distribution_report(uuid) to authenticated, service_role;
