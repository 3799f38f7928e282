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
    'block_number', p.block_number,
    'attempt_hashes', coalesce((select jsonb_agg(a.tx_hash order by a.created_at)
                                 from app.transfer_attempts a where a.transfer_id = p.id), '[]'::jsonb),
    'investment_ids', coalesce((select jsonb_agg(i.id order by i.created_at)
                                 from app.investments i where i.transfer_id = p.id), '[]'::jsonb),
    'updated_at', p.updated_at
  )
$$;

-- The claim's arguments (claim_token_distributions): PT400 for any that is missing or malformed.
create or replace function app.require_claim_args(p_signer text, p_chain_id bigint, p_chain_nonce bigint,
                                                  p_limit int, p_base_fee_per_gas numeric,
                                                  p_priority_fee_per_gas numeric,
                                                  p_treasury_native_balance numeric,
                                                  p_treasury_token_balances jsonb)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_signer text := app.require_address(p_signer, 'p_signer must be the treasury address');
begin
  if p_chain_id is null or p_chain_id <= 0 or p_chain_nonce is null or p_chain_nonce < 0 then
    perform app.fail('PT400', 'p_chain_id and p_chain_nonce are required');
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform app.fail('PT400', 'p_limit must be between 1 and 1000');
  end if;
  perform app.require_whole(p_base_fee_per_gas, 'p_base_fee_per_gas', false);
  perform app.require_whole(p_priority_fee_per_gas, 'p_priority_fee_per_gas', false);
  perform app.require_whole(p_treasury_native_balance, 'p_treasury_native_balance', false);
  if p_treasury_token_balances is not null and (pg_catalog.jsonb_typeof(p_treasury_token_balances) <> 'object'
     or exists (select 1 from pg_catalog.jsonb_each(p_treasury_token_balances) b
                 where not app.is_address(pg_catalog.lower(b.key))
                    or pg_catalog.jsonb_typeof(b.value) not in ('string', 'number')
                    or (b.value #>> '{}') !~ '^[0-9]{1,78}$')) then
    perform app.fail('PT400', 'p_treasury_token_balances must map token addresses to whole balances');
  end if;
  return v_signer;
end
$$;

-- The nonces a claim may hand out, under the treasury's nonce row lock, which serialises claims
-- for this signer (F7): two claims can never hand out the same nonce. Transaction-scoped, so it is
-- safe behind a pooler. Released nonces come first (lowest first; those below the chain's count
-- were used by something else meanwhile and are dropped), then fresh ones from base.
create or replace function app.lock_claim_nonces(p_chain_id bigint, p_signer text, p_chain_nonce bigint,
                                                 out base bigint, out released bigint[])
language plpgsql
set search_path = ''
as $$
declare
  v_next bigint;
begin
  insert into app.treasury_nonces (chain_id, signer, next_nonce) values (p_chain_id, p_signer, p_chain_nonce)
  on conflict do nothing;
  select n.next_nonce into v_next from app.treasury_nonces n
   where n.chain_id = p_chain_id and n.signer = p_signer for update;
  delete from app.released_nonces r
   where r.chain_id = p_chain_id and r.signer = p_signer and r.nonce < p_chain_nonce;
  released := array(select r.nonce from app.released_nonces r
                     where r.chain_id = p_chain_id and r.signer = p_signer order by r.nonce limit 1000);
  base := greatest(v_next, p_chain_nonce);
end
$$;

-- After a claim of p_used transfers: the released nonces it used are gone, and the next fresh
-- nonce is past the ones it took from base.
create or replace function app.advance_claim_nonces(p_chain_id bigint, p_signer text, p_base bigint,
                                                    p_released bigint[], p_used int)
returns void
language sql
set search_path = ''
as $$
  delete from app.released_nonces r
   where r.chain_id = p_chain_id and r.signer = p_signer
     and r.nonce = any (p_released[1:least(p_used, coalesce(pg_catalog.array_length(p_released, 1), 0))]);
  update app.treasury_nonces n
     set next_nonce = greatest(n.next_nonce,
           p_base + greatest(p_used - coalesce(pg_catalog.array_length(p_released, 1), 0), 0))
   where n.chain_id = p_chain_id and n.signer = p_signer;
$$;

create or replace function public.claim_token_distributions(
  p_worker text,
  p_signer text,
  p_chain_id bigint,
  p_chain_nonce bigint,
  p_limit int default 50,
  p_user_id uuid default null,
  p_tokenization_id uuid default null,
  p_base_fee_per_gas numeric default null,
  p_priority_fee_per_gas numeric default null,
  p_treasury_native_balance numeric default null,
  p_treasury_token_balances jsonb default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_signer text;
  v_fee numeric;
  v_tip numeric;
  v_released bigint[];
  v_groups int;
  v_base bigint;
  v_ids uuid[];
  v_gas_each numeric;
  v_gas_room numeric;
  v_short jsonb;
begin
  perform app.require_service('only the service role claims distributions');
  v_signer := app.require_claim_args(p_signer, p_chain_id, p_chain_nonce, p_limit, p_base_fee_per_gas,
                p_priority_fee_per_gas, p_treasury_native_balance, p_treasury_token_balances);

  -- Fees from what the chain asks now, under the chain's caps; above the cap nothing is claimed
  -- (the investments stay confirmed and go out once fees fall).
  select f.max_fee_per_gas, f.max_priority_fee_per_gas into v_fee, v_tip
    from app.signing_fees(p_chain_id, p_base_fee_per_gas, p_priority_fee_per_gas) f;
  if p_base_fee_per_gas is not null then
    perform app.observe_fees(p_chain_id, p_base_fee_per_gas, p_priority_fee_per_gas, v_fee is null);
  end if;
  if v_fee is null then
    return '[]'::jsonb;
  end if;

  select n.base, n.released into v_base, v_released
    from app.lock_claim_nonces(p_chain_id, v_signer, p_chain_nonce) n;
  -- The treasury guard (18_treasury_guard.sql): a new transfer reserves its gas limit at the fee
  -- it is signed with, on top of what the unmined ones may still spend.
  v_gas_each := app.setting('transfer_gas_limit')::numeric * v_fee;
  v_gas_room := case when p_treasury_native_balance is not null
                     then app.treasury_gas_room(p_chain_id, v_signer, p_treasury_native_balance) end;

  -- One statement: lock, group, number, allocate nonces, write transfers, move investments.
  with candidates as (
    select i.id, i.user_id, i.tokenization_id, i.tokens, i.created_at
      from app.claimable_investments i
     where (p_user_id is null or i.user_id = p_user_id)
       and (p_tokenization_id is null or i.tokenization_id = p_tokenization_id)
       and exists (select 1 from app.tokenizations t where t.id = i.tokenization_id and t.chain_id = p_chain_id
                      and t.unreadable_since is null)
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
  ), room as materialized (
    select r.token_address, r.room
      from app.treasury_token_room(p_chain_id, v_signer, p_treasury_token_balances) r
  ), token_fit as materialized (
    -- Oldest first, per token, while the treasury's tokens last (all of them without a guard).
    select g.*, t.token_address,
           p_treasury_token_balances is null
             or sum(g.amount) over (partition by t.token_address
                                    order by g.first_at, g.user_id, g.tokenization_id)
                <= coalesce(r.room, 0) as tokens_fit
      from grouped g
      join app.tokenizations t on t.id = g.tokenization_id
      left join room r on r.token_address = t.token_address
  ), fit as materialized (
    -- Then, of those, while its gas lasts.
    select f.*, f.tokens_fit and (v_gas_room is null
             or count(*) filter (where f.tokens_fit)
                  over (order by f.first_at, f.user_id, f.tokenization_id) * v_gas_each
                <= v_gas_room) as gas_fits
      from token_fit f
  ), chosen as (
    select f.*, row_number() over (order by f.first_at, f.user_id, f.tokenization_id) as ord
      from fit f where f.gas_fits
  ), planned as materialized (
    select gen_random_uuid() as transfer_id, c.user_id, c.tokenization_id, c.amount, c.investment_ids,
           c.first_at, p.wallet_address as to_address, c.token_address,
           case when c.ord <= coalesce(array_length(v_released, 1), 0) then v_released[c.ord]
                else v_base + (c.ord - coalesce(array_length(v_released, 1), 0) - 1) end as nonce
      from chosen c
      join app.profiles p on p.user_id = c.user_id
  ), transfers as (
    insert into app.token_transfers (id, tokenization_id, user_id, to_address, token_address, chain_id, signer,
      nonce, amount, gas_limit, max_fee_per_gas, max_priority_fee_per_gas, worker)
    select pl.transfer_id, pl.tokenization_id, pl.user_id, pl.to_address, pl.token_address, p_chain_id, v_signer,
           pl.nonce, pl.amount, app.setting('transfer_gas_limit')::bigint, v_fee, v_tip,
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
  select array_agg(t.id order by t.nonce),
         count(*),
         -- What the guard left behind, and why (the first token short, the gas it lacked).
         (select jsonb_build_object(
                   'tokens_short', coalesce(bool_or(not f.tokens_fit), false),
                   'gas_short', coalesce(bool_or(f.tokens_fit and not f.gas_fits), false),
                   'token_address', min(f.token_address) filter (where not f.tokens_fit),
                   'gas_available', v_gas_room::text,
                   'gas_per_transfer', v_gas_each::text)
            from fit f)
    into v_ids, v_groups, v_short
    from transfers t;
  if p_treasury_native_balance is not null or p_treasury_token_balances is not null then
    perform app.observe_treasury(p_chain_id, v_signer, (v_short ->> 'tokens_short')::boolean,
      (v_short ->> 'gas_short')::boolean, v_short);
  end if;
  if v_groups = 0 then
    return '[]'::jsonb;
  end if;

  perform app.advance_claim_nonces(p_chain_id, v_signer, v_base, v_released, v_groups);
  -- Each transfer as every reader of transfers sees it (app.transfer_json), read after the
  -- statement that wrote it and its investments: their ids are visible only from here.
  return (select jsonb_agg(app.transfer_json(t) order by t.nonce)
            from app.token_transfers t where t.id = any (v_ids));
end
$$;
comment on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid, numeric, numeric, numeric, jsonb) is
  'Service: claims confirmed investments of KYC-verified investors with a wallet (SKIP LOCKED), '
  'aggregated per (user, tokenization), at most p_limit transfers. Allocates nonces under the '
  'treasury row lock from greatest(stored next nonce, p_chain_nonce), released nonces first, and '
  'moves the investments to distributing. Returns each planned transfer as app.transfer_json '
  '[{transfer_id, tokenization_id, user_id, to_address, token_address, chain_id, amount, nonce, '
  'investment_ids, gas_limit, fees, status, ...}]. Fees '
  'come from p_base_fee_per_gas and p_priority_fee_per_gas (what the chain asks now) under the '
  'chain''s policy (admin_set_chain_policy); above its cap nothing is claimed. With the treasury''s '
  'balances (p_treasury_native_balance in wei, p_treasury_token_balances {token address: balance}) '
  'it claims, oldest first, only what they can pay for after everything unmined (tokens, and gas '
  'limit x max fee per gas); the rest stays confirmed (treasury_insufficient_tokens/_gas).';
revoke all on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid, numeric, numeric, numeric, jsonb) from public;
grant execute on function public.claim_token_distributions(text, text, bigint, bigint, int, uuid, uuid, numeric, numeric, numeric, jsonb) to service_role;

-- record_signed_transfer(s) --------------------------------------------------------------------
create or replace function app.record_signed(p_transfer_id uuid, p_tx_hash text, p_raw_tx text,
  p_gas_limit bigint default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text := app.require_signed_tx(p_tx_hash, p_raw_tx);
begin
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
  -- The gas limit the run estimated (eth_estimateGas plus a margin) replaces the ceiling the claim
  -- reserved; never above it, since the treasury guard counted the ceiling.
  if p_gas_limit is not null and (p_gas_limit < 21000 or p_gas_limit > v_t.gas_limit) then
    perform app.fail('PT400', 'p_gas_limit must be between 21000 and the planned gas limit ' || v_t.gas_limit);
  end if;
  update app.token_transfers
     set status = 'signed', tx_hash = v_hash, raw_tx = p_raw_tx, signed_at = now(), updated_at = now(),
         gas_limit = coalesce(p_gas_limit, gas_limit)
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
    perform app.fail('PT400', 'p_transfers must be an array of {transfer_id, tx_hash, raw_tx, gas_limit?}');
  end if;
  if exists (select 1 from jsonb_array_elements(p_transfers) e
              where e ? 'gas_limit' and (e ->> 'gas_limit') !~ '^[0-9]{1,18}$') then
    perform app.fail('PT400', 'gas_limit must be a whole number of gas');
  end if;
  return coalesce((
    select jsonb_agg(app.record_signed((e ->> 'transfer_id')::uuid, e ->> 'tx_hash', e ->> 'raw_tx',
                                       (e ->> 'gas_limit')::bigint))
      from jsonb_array_elements(p_transfers) e), '[]'::jsonb);
end
$$;
comment on function public.record_signed_transfers(jsonb) is
  'Service: record_signed_transfer for many transfers in one round trip (all or nothing); an item''s '
  'optional gas_limit (the run''s estimate, at most the planned one) is what the bytes were signed with.';
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
create or replace function app.confirm_transfer(p_transfer_id uuid, p_tx_hash text, p_block_number bigint,
  p_head_block bigint default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_t app.token_transfers;
  v_hash text := lower(coalesce(p_tx_hash, ''));
  v_needed int;
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
  -- Final only at the chain's depth (admin_set_chain_policy): until then the receipt is recorded
  -- and the transfer is mined; holdings and investments wait.
  v_needed := (app.chain_policy(v_t.chain_id)).min_confirmations;
  if v_needed > 1 and (p_head_block is null or p_head_block - p_block_number + 1 < v_needed) then
    update app.token_transfers
       set status = 'mined', tx_hash = v_hash, block_number = p_block_number, nonce_consumed = true,
           updated_at = now()
     where id = v_t.id;
    return jsonb_build_object('transfer_id', v_t.id, 'status', 'mined', 'already_confirmed', false,
      'confirmations', case when p_head_block is not null then p_head_block - p_block_number + 1 end,
      'min_confirmations', v_needed);
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
    select jsonb_agg(app.confirm_transfer((e ->> 'transfer_id')::uuid, e ->> 'tx_hash',
             (e ->> 'block_number')::bigint, (e ->> 'head_block')::bigint))
      from jsonb_array_elements(p_confirmations) e), '[]'::jsonb);
end
$$;
comment on function public.confirm_token_transfers(jsonb) is
  'Service: confirm_token_transfer for many transfers in one round trip (all or nothing). Each item '
  '{transfer_id, tx_hash, block_number, head_block}: below the chain''s min_confirmations '
  '(head_block - block_number + 1) the transfer is only mined; each result says which.';
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
             -- Refunded or disputed while the transfer was in flight: never claimed again.
             when i.reversal = 'refund' then 'refunded'
             when i.reversal = 'dispute' then 'disputed'
             when (select count(*) from app.investment_events e
                    where e.investment_id = i.id and e.status = 'failed') >= 2 then 'failed'
             else 'confirmed' end,
           status_before_dispute = case when i.reversal = 'dispute' then 'confirmed'
                                        else i.status_before_dispute end,
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
    -- With the chain's caps: a replacement may raise the fees only up to them.
    select jsonb_agg(app.transfer_json(t) || jsonb_build_object(
             'fee_cap', (app.chain_policy(t.chain_id)).max_fee_per_gas::text,
             'tip_cap', (app.chain_policy(t.chain_id)).max_priority_fee_per_gas::text)
           order by t.chain_id, t.signer, t.nonce)
      from (select t.* from app.token_transfers t
             where (t.status = any (app.unmined_transfer_statuses())
                    and t.updated_at <= now() - coalesce(p_stale_after, '2 minutes'::interval))
                -- Mined ones on every run: they become final with depth, or go back if reorganised.
                or t.status = 'mined'
             -- A page a run (the reconciler's CPU and time limits), lowest nonces first: a nonce
             -- left stuck holds back every one above it, so those go first.
             order by t.chain_id, t.signer, t.nonce
             limit app.reconcile_page()) t), '[]'::jsonb);
end
$$;
comment on function public.transfers_to_reconcile(interval) is
  'Service: transfers stuck in planned, signed or broadcast for longer than p_stale_after, and '
  'mined ones, lowest nonces first, at most reconcile_page (setting, default 200) a call, with '
  'everything needed to sign, rebroadcast or look them up (raw_tx, every attempt hash), and the '
  'chain''s fee caps (fee_cap, tip_cap) that a replacement may not exceed.';

-- How many transfers one reconciler run repairs, and how many recent confirmations it re-checks.
insert into app.settings (key, value) values ('reconcile_page', '200') on conflict (key) do nothing;

create or replace function app.reconcile_page()
returns int
language sql
stable
set search_path = ''
as $$
  select app.setting('reconcile_page')::int
$$;
revoke all on function public.transfers_to_reconcile(interval) from public;
grant execute on function public.transfers_to_reconcile(interval) to service_role;

-- A mined transfer whose receipt is gone (its block was reorganised away) goes back to broadcast
-- with the same bytes: the reconciler sends them again. Its nonce may still be mined, so it is
-- never planned again with a new one.
create or replace function public.record_reorged_transfer(p_transfer_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_t app.token_transfers;
begin
  perform app.require_service('only the service role reconciles');
  select * into v_t from app.token_transfers where id = p_transfer_id for update;
  if v_t.id is null then
    perform app.fail('PT404', 'no such transfer');
  end if;
  if v_t.status <> 'mined' then
    perform app.fail('PT409', 'only a mined transfer can be reorganised away; it is ' || v_t.status);
  end if;
  update app.token_transfers
     set status = 'broadcast', block_number = null, updated_at = now()
   where id = v_t.id returning * into v_t;
  return app.transfer_json(v_t);
end
$$;
comment on function public.record_reorged_transfer(uuid) is
  'Service (the reconciler): a mined transfer whose block was reorganised away goes back to '
  'broadcast, keeping its bytes and nonce. PT409 unless it is mined, PT404 for an unknown transfer.';
revoke all on function public.record_reorged_transfer(uuid) from public;
grant execute on function public.record_reorged_transfer(uuid) to service_role;

-- Transfers confirmed recently, for the reconciler to check that they are still on the chain: a
-- confirmed transfer whose receipt disappears was reorganised away after it was called final. It
-- is never paid again automatically; the run reports reorg_detected.
create or replace function public.recently_confirmed_transfers(p_within interval default '1 hour')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role reconciles');
  return coalesce((
    select jsonb_agg(jsonb_build_object('transfer_id', t.id, 'user_id', t.user_id,
             'tokenization_id', t.tokenization_id, 'chain_id', t.chain_id, 'signer', t.signer,
             'tx_hash', t.tx_hash, 'block_number', t.block_number, 'amount', t.amount::text)
           order by t.confirmed_at)
      from (select t.* from app.token_transfers t
             where t.status = 'confirmed'
               and t.confirmed_at > now() - least(coalesce(p_within, '1 hour'::interval), '7 days'::interval)
             -- The newest first, five pages a run: a reorganisation takes the newest blocks.
             order by t.confirmed_at desc
             limit 5 * app.reconcile_page()) t),
    '[]'::jsonb);
end
$$;
comment on function public.recently_confirmed_transfers(interval) is
  'Service (the reconciler): transfers confirmed within p_within (at most 7 days), the newest '
  '5 x reconcile_page of them, to check that each is still on the chain; one that is not is '
  'reported as reorg_detected.';
revoke all on function public.recently_confirmed_transfers(interval) from public;
grant execute on function public.recently_confirmed_transfers(interval) to service_role;

-- The report, whole or a page at a time: rows in (discrepancies first, tokenization, investor)
-- order; with p_limit, each row carries its `cursor`, and p_after (the last row's cursor) gives
-- the next page.
create or replace function public.token_distribution_report(p_tokenization_id uuid, p_limit int,
  p_after text default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_after_consistent boolean;
  v_after_tokenization uuid;
  v_after_user uuid;
begin
  perform app.require_admin(false);
  if p_limit is not null and (p_limit < 1 or p_limit > 1000) then
    perform app.fail('PT400', 'p_limit must be 1-1000');
  end if;
  if p_after is not null then
    if p_after !~ '^[01]/' or pg_catalog.array_length(pg_catalog.string_to_array(p_after, '/'), 1) <> 3 then
      perform app.fail('PT400', 'p_after must be a row''s cursor');
    end if;
    v_after_consistent := split_part(p_after, '/', 1) = '1';
    v_after_tokenization := app.require_uuid(split_part(p_after, '/', 2), 'p_after');
    v_after_user := app.require_uuid(split_part(p_after, '/', 3), 'p_after');
  end if;
  return coalesce((
    with keys as (
      select user_id, tokenization_id from app.token_holdings
      union
      select user_id, tokenization_id from app.investments
       where payment_status = any (app.owed_statuses())
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
    ), page as (
      select r.*, r.distributed = r.holdings as consistent
        from rows r
       where p_after is null
          or (r.distributed = r.holdings, r.tokenization_id, r.user_id)
             > (v_after_consistent, v_after_tokenization, v_after_user)
       order by r.distributed = r.holdings, r.tokenization_id, r.user_id
       limit p_limit
    )
    select jsonb_agg(jsonb_build_object(
             'user_id', r.user_id, 'tokenization_id', r.tokenization_id,
             'distributed', r.distributed::text, 'holdings', r.holdings::text,
             'in_flight', r.in_flight::text, 'waiting', r.waiting::text,
             'discrepancy', not r.consistent)
             || case when p_limit is null then '{}'::jsonb
                     else jsonb_build_object('cursor', r.consistent::int || '/' || r.tokenization_id || '/' || r.user_id) end
           order by r.consistent, r.tokenization_id, r.user_id)
      from page r), '[]'::jsonb);
end
$$;
comment on function public.token_distribution_report(uuid, int, text) is
  'Admin or service: a page of the report: at most p_limit (1-1000; null: every row) rows after '
  'p_after (a row''s cursor), in discrepancies-first order, each with its cursor when paged. '
  'PT400 for a bad p_limit or cursor.';
revoke all on function public.token_distribution_report(uuid, int, text) from public;
grant execute on function public.token_distribution_report(uuid, int, text) to authenticated, service_role;

create or replace function public.token_distribution_report(p_tokenization_id uuid default null)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select public.token_distribution_report(p_tokenization_id, null::int, null::text)
$$;
comment on function public.token_distribution_report(uuid) is
  'Admin or service: per (user, tokenization) the distributed sum, the holdings balance, what is in '
  'flight and what waits; "discrepancy" is true when holdings differ from what was distributed. '
  'The whole report (3.5 s and 20 MB at 100k holders): token_distribution_report(p_tokenization_id, '
  'p_limit, p_after) pages it.';
revoke all on function public.token_distribution_report(uuid) from public;
grant execute on function public.token_distribution_report(uuid) to authenticated, service_role;
