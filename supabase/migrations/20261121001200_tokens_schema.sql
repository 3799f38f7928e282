-- Payments and token distribution: tokenizations, investments, Paystack events, transfers (the
-- outbox), nonces and holdings. Token quantities are integer base units: numeric(78,0).

insert into app.settings (key, value) values
  ('transfer_gas_limit', '120000'),
  ('transfer_max_fee_per_gas', '20000000000'),
  ('transfer_max_priority_fee_per_gas', '1000000000'),
  -- 'on': a confirmed payment immediately queues a distribution run for its investor.
  ('auto_distribute', 'on')
on conflict (key) do nothing;

create table app.tokenizations (
  id uuid primary key default gen_random_uuid(),
  property_id text not null unique check (length(property_id) between 1 and 200),
  token_address text not null check (token_address ~ '^0x[0-9a-f]{40}$'),
  chain_id bigint not null check (chain_id > 0),
  price_per_token numeric(20, 2) not null check (price_per_token > 0),
  currency text not null default 'NGN' check (currency ~ '^[A-Z]{3}$'),
  decimals int not null default 0 check (decimals between 0 and 36),
  created_at timestamptz not null default now(),
  unique (chain_id, token_address)
);
alter table app.tokenizations enable row level security;

create table app.investments (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id),
  tokenization_id uuid not null references app.tokenizations (id),
  tokens numeric(78, 0) not null check (tokens > 0),
  amount numeric(20, 2) not null check (amount > 0),
  amount_subunit bigint not null check (amount_subunit > 0),
  currency text not null,
  reference text not null unique,
  payment_status text not null default 'pending' check (payment_status in
    ('pending', 'confirmed', 'distributing', 'tokens_distributed', 'amount_mismatch', 'failed')),
  transfer_id uuid,
  confirmed_at timestamptz,
  distributed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- distributing and distributed investments always name their transfer; others never do.
  constraint transfer_matches_status check (
    (payment_status in ('distributing', 'tokens_distributed')) = (transfer_id is not null))
);
create index investments_claimable on app.investments (created_at) where payment_status = 'confirmed';
create index investments_user on app.investments (user_id);
create index investments_transfer on app.investments (transfer_id) where transfer_id is not null;
alter table app.investments enable row level security;

-- The per-investment trail: processing (claimed), success (confirmed on chain), failed (released).
create table app.investment_events (
  id bigint generated always as identity primary key,
  investment_id uuid not null references app.investments (id),
  status text not null check (status in ('processing', 'success', 'failed')),
  transfer_id uuid,
  detail text,
  created_at timestamptz not null default now()
);
create index investment_events_investment on app.investment_events (investment_id);
alter table app.investment_events enable row level security;

-- Every Paystack event, once per (event type, data.id): retries are recognised, never re-applied.
create table app.paystack_events (
  id bigint generated always as identity primary key,
  event_type text not null,
  event_id text not null,
  reference text,
  payload jsonb not null,
  outcome text,
  investment_id uuid,
  received_at timestamptz not null default now(),
  unique (event_type, event_id)
);
alter table app.paystack_events enable row level security;

create table app.token_holdings (
  user_id uuid not null references auth.users (id),
  tokenization_id uuid not null references app.tokenizations (id),
  balance numeric(78, 0) not null default 0 check (balance >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, tokenization_id)
);
alter table app.token_holdings enable row level security;

-- The treasury's next nonce per (chain, signer), allocated under this row's lock; and nonces
-- released by transfers that can never be mined, reused first so no gap blocks the queue.
create table app.treasury_nonces (
  chain_id bigint not null,
  signer text not null check (signer ~ '^0x[0-9a-f]{40}$'),
  next_nonce bigint not null check (next_nonce >= 0),
  primary key (chain_id, signer)
);
alter table app.treasury_nonces enable row level security;

create table app.released_nonces (
  chain_id bigint not null,
  signer text not null,
  nonce bigint not null,
  released_at timestamptz not null default now(),
  primary key (chain_id, signer, nonce)
);
alter table app.released_nonces enable row level security;

-- The outbox (F8): everything needed to sign a transfer again to the same bytes is stored before
-- anything is broadcast, and the signed raw transaction is stored before broadcast too.
create table app.token_transfers (
  id uuid primary key default gen_random_uuid(),
  tokenization_id uuid not null references app.tokenizations (id),
  user_id uuid not null references auth.users (id),
  to_address text not null check (to_address ~ '^0x[0-9a-f]{40}$'),
  token_address text not null,
  chain_id bigint not null,
  signer text not null,
  nonce bigint not null check (nonce >= 0),
  amount numeric(78, 0) not null check (amount > 0),
  gas_limit bigint not null,
  max_fee_per_gas numeric(78, 0) not null,
  max_priority_fee_per_gas numeric(78, 0) not null,
  status text not null default 'planned'
    check (status in ('planned', 'signed', 'broadcast', 'confirmed', 'failed')),
  tx_hash text check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text,
  block_number bigint,
  nonce_consumed boolean,
  error text,
  worker text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  signed_at timestamptz,
  broadcast_at timestamptz,
  confirmed_at timestamptz,
  constraint signed_has_bytes check (status in ('planned', 'failed') or (tx_hash is not null and raw_tx is not null))
);
-- One live or confirmed transfer per nonce: a nonce can be mined only once.
create unique index token_transfers_nonce on app.token_transfers (chain_id, signer, nonce)
  where status <> 'failed';
create index token_transfers_open on app.token_transfers (updated_at)
  where status in ('planned', 'signed', 'broadcast');
create index token_transfers_user on app.token_transfers (user_id, tokenization_id);
alter table app.token_transfers enable row level security;

alter table app.investments add constraint investments_transfer_fk
  foreign key (transfer_id) references app.token_transfers (id);

-- Every signed version of a transfer (the first, and fee-bumped replacements at the same nonce).
create table app.transfer_attempts (
  transfer_id uuid not null references app.token_transfers (id),
  tx_hash text not null check (tx_hash ~ '^0x[0-9a-f]{64}$'),
  raw_tx text not null,
  max_fee_per_gas numeric(78, 0),
  max_priority_fee_per_gas numeric(78, 0),
  created_at timestamptz not null default now(),
  primary key (transfer_id, tx_hash)
);
create unique index transfer_attempts_hash on app.transfer_attempts (tx_hash);
alter table app.transfer_attempts enable row level security;

-- Calls an edge function asynchronously through pg_net (net.http_post is queued and sent after
-- commit) with the project URL and service key from Vault. Missing secrets only log a warning:
-- the cron sweeps pick the work up anyway.
create or replace function app.invoke_function(p_name text, p_body jsonb)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
begin
  select decrypted_secret into v_url from vault.decrypted_secrets where name = 'project_url';
  select decrypted_secret into v_key from vault.decrypted_secrets where name = 'service_role_key';
  if v_url is null or v_key is null then
    raise warning 'vault secrets project_url/service_role_key missing: % not invoked', p_name;
    return null;
  end if;
  return net.http_post(
    url := v_url || '/functions/v1/' || p_name,
    body := coalesce(p_body, '{}'::jsonb),
    params := '{}'::jsonb,
    headers := jsonb_build_object('Content-Type', 'application/json', 'Authorization', 'Bearer ' || v_key),
    timeout_milliseconds := 60000
  );
end
$$;
revoke all on function app.invoke_function(text, jsonb) from public;
