-- The treasury: its nonces per (chain, signer), the nonces released by transfers that can never
-- be mined, and its addresses. Guarantees: a nonce is allocated under its row's lock, a released
-- one is reused first (no gap blocks the queue), and no investor can name a treasury, a token
-- contract or the zero address as a payout wallet (app.is_protected_address).

-- The treasury's next nonce per (chain, signer), allocated under this row's lock; and nonces
-- released by transfers that can never be mined, reused first so no gap blocks the queue.
create table app.treasury_nonces (
  chain_id bigint not null,
  signer app.address not null,
  next_nonce bigint not null check (next_nonce >= 0),
  primary key (chain_id, signer)
);
alter table app.treasury_nonces enable row level security;

create table app.released_nonces (
  chain_id bigint not null,
  signer app.address not null,
  nonce bigint not null,
  released_at timestamptz not null default now(),
  primary key (chain_id, signer, nonce)
);
alter table app.released_nonces enable row level security;

-- The treasury's addresses, so that nobody can name one as their payout wallet. Every signer that
-- ever claimed a nonce is one; the stack (or an operator) registers it before the first claim.
create table app.treasury_accounts (
  address app.address primary key,
  created_at timestamptz not null default now()
);
alter table app.treasury_accounts enable row level security;

create or replace function app.remember_treasury_signer()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into app.treasury_accounts (address) values (new.signer) on conflict do nothing;
  return new;
end
$$;

create trigger treasury_nonces_remember_signer after insert on app.treasury_nonces
  for each row execute function app.remember_treasury_signer();

create or replace function public.register_treasury_address(p_address text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_addr text := lower(btrim(coalesce(p_address, '')));
begin
  perform app.require_service('only the service role registers the treasury');
  perform app.require_address(v_addr, 'p_address must be 0x followed by 40 hex digits');
  insert into app.treasury_accounts (address) values (v_addr) on conflict do nothing;
  return jsonb_build_object('address', v_addr,
    'wallets_using_it', (select count(*) from app.profiles where wallet_address = v_addr));
end
$$;
comment on function public.register_treasury_address(text) is
  'Service: records a treasury (signer) address so no investor can name it as a payout wallet. '
  'Returns {address, wallets_using_it}; a non-zero count needs a person.';
revoke all on function public.register_treasury_address(text) from public;
grant execute on function public.register_treasury_address(text) to service_role;

-- An address that must never receive payouts: the zero address, a treasury, a token contract.
create or replace function app.is_protected_address(p_address text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_address = '0x0000000000000000000000000000000000000000'
      or exists (select 1 from app.treasury_accounts where address = p_address)
      or exists (select 1 from app.treasury_nonces where signer = p_address)
      or exists (select 1 from app.tokenizations where token_address = p_address)
$$;
