-- Transfer recovery for the reconciler: a fee-bumped replacement at the same nonce (every attempt
-- kept, so whichever is mined can be confirmed) and the released nonces that fill gaps.

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
