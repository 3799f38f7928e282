-- Chain policies: what the treasury may pay per gas on a chain, and how deep a transfer must be to
-- count as final. Fees are read from the chain when a run signs (never a constant); the policy
-- only caps them. While the network asks for more than the cap, nothing is signed: investments
-- stay confirmed, `distribute-tokens` reports them deferred (`fee_cap`) and admin_token_alerts
-- shows fee_cap_exceeded; they go out by themselves when fees fall.
create table app.chain_policies (
  chain_id bigint primary key check (chain_id > 0),
  max_fee_per_gas numeric(78, 0) not null check (max_fee_per_gas > 0),
  max_priority_fee_per_gas numeric(78, 0) not null
    check (max_priority_fee_per_gas >= 0 and max_priority_fee_per_gas <= max_fee_per_gas),
  min_confirmations int not null default 1 check (min_confirmations between 1 and 1000),
  updated_at timestamptz not null default now()
);
alter table app.chain_policies enable row level security;

-- The last fees a run was quoted per chain, and since when they exceed the cap (null: they fit).
create table app.chain_fee_state (
  chain_id bigint primary key,
  base_fee_per_gas numeric(78, 0) not null,
  priority_fee_per_gas numeric(78, 0) not null,
  cap_exceeded_since timestamptz,
  observed_at timestamptz not null default now()
);
alter table app.chain_fee_state enable row level security;

-- A chain's policy, or the documented default for a chain without one: the transfer_max_fee_per_gas
-- and transfer_max_priority_fee_per_gas settings (20 gwei, 1 gwei), final at the first receipt.
create or replace function app.chain_policy(p_chain_id bigint)
returns app.chain_policies
language sql
stable
set search_path = ''
as $$
  select coalesce(
    (select p from app.chain_policies p where p.chain_id = p_chain_id),
    row(p_chain_id, app.setting('transfer_max_fee_per_gas')::numeric,
        app.setting('transfer_max_priority_fee_per_gas')::numeric, 1, null)::app.chain_policies)
$$;

create or replace function app.chain_policy_json(p app.chain_policies)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select jsonb_build_object('chain_id', p.chain_id, 'max_fee_per_gas', p.max_fee_per_gas::text,
    'max_priority_fee_per_gas', p.max_priority_fee_per_gas::text,
    'min_confirmations', p.min_confirmations)
$$;

create or replace function public.admin_set_chain_policy(
  p_chain_id bigint,
  p_max_fee_per_gas numeric default null,
  p_max_priority_fee_per_gas numeric default null,
  p_min_confirmations int default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_before app.chain_policies;
  v_after app.chain_policies;
begin
  perform app.require_admin(true);
  if p_chain_id is null or p_chain_id <= 0 then
    perform app.fail('PT400', 'p_chain_id must be a positive chain id');
  end if;
  perform app.require_whole(p_max_fee_per_gas, 'p_max_fee_per_gas', true);
  perform app.require_whole(p_max_priority_fee_per_gas, 'p_max_priority_fee_per_gas', false);
  if p_min_confirmations is not null and (p_min_confirmations < 1 or p_min_confirmations > 1000) then
    perform app.fail('PT400', 'p_min_confirmations must be between 1 and 1000');
  end if;
  v_before := app.chain_policy(p_chain_id);
  if coalesce(p_max_priority_fee_per_gas, v_before.max_priority_fee_per_gas)
     > coalesce(p_max_fee_per_gas, v_before.max_fee_per_gas) then
    perform app.fail('PT400', 'the highest tip cannot exceed the highest fee per gas');
  end if;
  insert into app.chain_policies (chain_id, max_fee_per_gas, max_priority_fee_per_gas, min_confirmations)
  values (p_chain_id, coalesce(p_max_fee_per_gas, v_before.max_fee_per_gas),
          coalesce(p_max_priority_fee_per_gas, v_before.max_priority_fee_per_gas),
          coalesce(p_min_confirmations, v_before.min_confirmations))
  on conflict (chain_id) do update
     set max_fee_per_gas = excluded.max_fee_per_gas,
         max_priority_fee_per_gas = excluded.max_priority_fee_per_gas,
         min_confirmations = excluded.min_confirmations, updated_at = now()
  returning * into v_after;
  perform app.audit('set_chain_policy', jsonb_build_object('chain_id', p_chain_id),
    app.chain_policy_json(v_before), app.chain_policy_json(v_after));
  return app.chain_policy_json(v_after);
end
$$;
comment on function public.admin_set_chain_policy(bigint, numeric, numeric, int) is
  'Admin (aal2) or service: creates or updates (null keeps the current value) a chain''s policy: the '
  'most the treasury ever pays per gas (wei), the highest tip (wei), and how many confirmations make a '
  'transfer final. Returns {chain_id, max_fee_per_gas, max_priority_fee_per_gas, min_confirmations} '
  'with wei as decimal strings. PT400 for a negative or non-integer value.';
revoke all on function public.admin_set_chain_policy(bigint, numeric, numeric, int) from public;
grant execute on function public.admin_set_chain_policy(bigint, numeric, numeric, int)
  to authenticated, service_role;

-- The fees a transfer is signed with, from what the chain asks now (the next block's base fee
-- and a tip) under the chain's caps: the tip is what the chain suggests, at most the tip cap; the
-- fee leaves room for the base fee to double, at most the fee cap. Null when the chain asks more
-- than the cap allows (base fee + tip > fee cap): nothing is signed then. Unknown fees (an older
-- caller) mean the caps themselves.
create or replace function app.signing_fees(p_chain_id bigint, p_base_fee numeric, p_tip numeric,
  out max_fee_per_gas numeric, out max_priority_fee_per_gas numeric)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_policy app.chain_policies := app.chain_policy(p_chain_id);
begin
  if p_base_fee is null then
    max_fee_per_gas := v_policy.max_fee_per_gas;
    max_priority_fee_per_gas := v_policy.max_priority_fee_per_gas;
    return;
  end if;
  max_priority_fee_per_gas := least(coalesce(p_tip, v_policy.max_priority_fee_per_gas),
                                    v_policy.max_priority_fee_per_gas);
  if p_base_fee + max_priority_fee_per_gas > v_policy.max_fee_per_gas then
    max_fee_per_gas := null;
    max_priority_fee_per_gas := null;
    return;
  end if;
  max_fee_per_gas := least(2 * p_base_fee + max_priority_fee_per_gas, v_policy.max_fee_per_gas);
end
$$;

-- Records what a run was quoted: the start (or end) of a fee spike above the cap.
create or replace function app.observe_fees(p_chain_id bigint, p_base_fee numeric, p_tip numeric,
  p_exceeded boolean)
returns void
language sql
set search_path = ''
as $$
  insert into app.chain_fee_state (chain_id, base_fee_per_gas, priority_fee_per_gas, cap_exceeded_since)
  values (p_chain_id, p_base_fee, coalesce(p_tip, 0), case when p_exceeded then now() end)
  on conflict (chain_id) do update
     set base_fee_per_gas = excluded.base_fee_per_gas,
         priority_fee_per_gas = excluded.priority_fee_per_gas,
         cap_exceeded_since = case when p_exceeded
                                   then coalesce(app.chain_fee_state.cap_exceeded_since, now()) end,
         observed_at = now()
$$;

-- What a run left waiting, and why: the confirmed investments it could have claimed (same filters
-- as the claim) while the chain's fees exceed the cap, or the treasury's balances run short
-- (18_treasury_guard.sql). `distribute-tokens` asks when it claimed less than it could have.
create or replace function public.distribution_backlog(p_chain_id bigint, p_user_id uuid default null,
  p_tokenization_id uuid default null, p_signer text default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_waiting int;
  v_unreadable int;
  v_reason text;
begin
  perform app.require_service('only the service role reads the distribution backlog');
  select case
           when exists (select 1 from app.chain_fee_state s
                         where s.chain_id = p_chain_id and s.cap_exceeded_since is not null) then 'fee_cap'
           when exists (select 1 from app.treasury_state s
                         where s.chain_id = p_chain_id and s.signer = lower(p_signer)
                           and s.tokens_short_since is not null) then 'treasury_tokens'
           when exists (select 1 from app.treasury_state s
                         where s.chain_id = p_chain_id and s.signer = lower(p_signer)
                           and s.gas_short_since is not null) then 'treasury_gas'
         end into v_reason;
  -- What the claim would take but for the reason above, and what waits on an unreadable token
  -- contract (record_token_readability) whatever the fees and balances.
  select count(*) filter (where t.unreadable_since is null),
         count(*) filter (where t.unreadable_since is not null)
    into v_waiting, v_unreadable
    from app.claimable_investments i
    join app.tokenizations t on t.id = i.tokenization_id and t.chain_id = p_chain_id
   where (p_user_id is null or i.user_id = p_user_id)
     and (p_tokenization_id is null or i.tokenization_id = p_tokenization_id);
  if v_reason is null then
    v_waiting := 0;
  end if;
  return jsonb_build_object('deferred', v_waiting + v_unreadable,
    'deferred_reason', case when v_waiting > 0 then v_reason
                            when v_unreadable > 0 then 'token_unreadable' end);
end
$$;
comment on function public.distribution_backlog(bigint, uuid, uuid, text) is
  'Service (distribute-tokens, after a claim that claimed less than it could): {deferred, '
  'deferred_reason}: the claimable investments left waiting because the chain''s fees exceed its '
  'cap ("fee_cap") or the treasury (p_signer) lacks tokens ("treasury_tokens") or gas '
  '("treasury_gas"), and those of a token contract no run could read ("token_unreadable"); else 0 '
  'and null.';
revoke all on function public.distribution_backlog(bigint, uuid, uuid, text) from public;
grant execute on function public.distribution_backlog(bigint, uuid, uuid, text) to service_role;
