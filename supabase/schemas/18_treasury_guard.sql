-- The treasury guard: nothing is signed that the treasury cannot pay for. A run reads the
-- treasury's balances from the chain (latest block) and hands them to the claim; the claim takes,
-- oldest first, only the transfers whose tokens and gas (gas limit x max fee per gas) fit in what
-- is left after everything still unmined. The rest stays confirmed and is deferred
-- (treasury_tokens, treasury_gas); admin_token_alerts shows treasury_insufficient_tokens or
-- treasury_insufficient_gas until a run finds enough again.

-- What the last guarded claim found short, per chain and signer (null: enough).
create table app.treasury_state (
  chain_id bigint not null,
  signer app.address not null,
  tokens_short_since timestamptz,
  gas_short_since timestamptz,
  -- The shortfall the last claim saw: {token_address, tokens_available, tokens_needed,
  -- gas_available, gas_needed} (wei and base units as decimal strings).
  detail jsonb not null default '{}'::jsonb,
  observed_at timestamptz not null default now(),
  primary key (chain_id, signer)
);
alter table app.treasury_state enable row level security;

-- What the treasury may still spend of each token: its balance minus the tokens of its unmined
-- transfers. p_tokens maps token address -> balance; a token it does not list has nothing to spend.
create or replace function app.treasury_token_room(p_chain_id bigint, p_signer text, p_tokens jsonb)
returns table (token_address text, room numeric)
language sql
stable
set search_path = ''
as $$
  with reserved as (
    select t.token_address, sum(t.amount) as tokens
      from app.token_transfers t
     where t.chain_id = p_chain_id and t.signer = p_signer
       and t.status = any (app.unmined_transfer_statuses())
     group by t.token_address
  ), balances as (
    select lower(b.key) as token_address, b.value::numeric as tokens
      from jsonb_each_text(coalesce(p_tokens, '{}'::jsonb)) b
  )
  select coalesce(b.token_address, r.token_address), coalesce(b.tokens, 0) - coalesce(r.tokens, 0)
    from balances b full join reserved r on r.token_address = b.token_address
$$;

-- What the treasury may still spend on gas: its native balance minus the most its unmined
-- transfers can cost (gas limit x max fee per gas).
create or replace function app.treasury_gas_room(p_chain_id bigint, p_signer text, p_native numeric)
returns numeric
language sql
stable
set search_path = ''
as $$
  select p_native - coalesce(sum(t.gas_limit * t.max_fee_per_gas), 0)
    from app.token_transfers t
   where t.chain_id = p_chain_id and t.signer = p_signer
     and t.status = any (app.unmined_transfer_statuses())
$$;

-- Records what a guarded claim found: when a shortfall began (kept while it lasts), or that it ended.
create or replace function app.observe_treasury(p_chain_id bigint, p_signer text, p_tokens_short boolean,
  p_gas_short boolean, p_detail jsonb)
returns void
language sql
set search_path = ''
as $$
  insert into app.treasury_state (chain_id, signer, tokens_short_since, gas_short_since, detail)
  values (p_chain_id, p_signer, case when p_tokens_short then now() end,
          case when p_gas_short then now() end, coalesce(p_detail, '{}'::jsonb))
  on conflict (chain_id, signer) do update
     set tokens_short_since = case when p_tokens_short
                                   then coalesce(app.treasury_state.tokens_short_since, now()) end,
         gas_short_since = case when p_gas_short
                                then coalesce(app.treasury_state.gas_short_since, now()) end,
         detail = excluded.detail,
         observed_at = now()
$$;

-- The token contracts a run must read the treasury's balance of before it claims.
create or replace function public.treasury_token_addresses(p_chain_id bigint)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role reads the treasury''s tokens');
  return coalesce((select jsonb_agg(distinct t.token_address) from app.tokenizations t
                    where t.chain_id = p_chain_id), '[]'::jsonb);
end
$$;
comment on function public.treasury_token_addresses(bigint) is
  'Service (distribute-tokens): the token contracts of a chain, whose treasury balances the run '
  'reads and passes to claim_token_distributions (the treasury guard).';
revoke all on function public.treasury_token_addresses(bigint) from public;
grant execute on function public.treasury_token_addresses(bigint) to service_role;

-- Which token contracts of a chain the run could not read (p_unreadable: {token address: why});
-- every other one of the chain is readable again. The claim skips the tokenizations of an
-- unreadable contract, so one bad registration never stops the others.
create or replace function public.record_token_readability(p_chain_id bigint, p_unreadable jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app.require_service('only the service role records token readability');
  if p_unreadable is null or jsonb_typeof(p_unreadable) <> 'object' then
    perform app.fail('PT400', 'p_unreadable must map token addresses to the reason they could not be read');
  end if;
  update app.tokenizations t
     set unreadable_since = case when p_unreadable ? t.token_address
                                 then coalesce(t.unreadable_since, now()) end,
         unreadable_error = left(p_unreadable ->> t.token_address, 500)
   where t.chain_id = p_chain_id
     and (t.unreadable_since is not null or p_unreadable ? t.token_address);
end
$$;
comment on function public.record_token_readability(bigint, jsonb) is
  'Service (distribute-tokens, before its claim): records the token contracts of p_chain_id whose '
  'treasury balance could not be read ({token address: reason}); all others of the chain are readable '
  'again. Unreadable ones are skipped by claims (deferred token_unreadable) and listed by '
  'admin_token_alerts as token_unreadable.';
revoke all on function public.record_token_readability(bigint, jsonb) from public;
grant execute on function public.record_token_readability(bigint, jsonb) to service_role;
