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
  -- Since when distribution runs could not read the treasury's balance of this token (no
  -- contract at the address, a call that reverts or answers garbage), and why; null when readable.
  -- Its investments wait (deferred token_unreadable); every other tokenization goes out.
  unreadable_since timestamptz,
  unreadable_error text,
  unique (chain_id, token_address)
);
alter table app.tokenizations enable row level security;
-- Which property a token is for is public to investors (my_investments, my_token_holdings).
create policy tokenizations_investors_read on app.tokenizations for select to authenticated
  using (true);
grant select (id, property_id) on app.tokenizations to authenticated;

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
    ('pending', 'confirmed', 'distributing', 'tokens_distributed', 'amount_mismatch', 'failed',
     'refunded', 'disputed')),
  transfer_id uuid,
  -- Why the investment's tokens are held back (never claimed while set), for money that may be on
  -- its way back: in_progress (refund.pending / refund.processing, until processed or failed),
  -- needs_attention (refund.needs-attention, or a refund whose amount could not be read: a person
  -- looks), partial (a processed refund of less than was paid: admin_resolve_investment accepts
  -- the tokens the kept money pays for, or cancels).
  refund_hold text check (refund_hold in ('in_progress', 'needs_attention', 'partial')),
  refund_hold_since timestamptz,
  -- When the sweep (verify-pending-payments) last asked Paystack about this pending investment.
  verify_checked_at timestamptz,
  -- What a won dispute returns a disputed investment to (amount_mismatch stays amount_mismatch).
  status_before_dispute text,
  -- A refund or dispute that came after the investment was claimed (distributing or
  -- tokens_distributed): nothing changes on chain; admin_token_alerts shows it until an admin
  -- acknowledges it (admin_resolve_investment). If the transfer then fails, the investment
  -- becomes refunded or disputed instead of claimable again.
  reversal text check (reversal in ('refund', 'dispute')),
  -- When the reversal was applied (clock time: after the claim it waited for, if any).
  reversal_at timestamptz,
  reversal_acknowledged_at timestamptz,
  confirmed_at timestamptz,
  distributed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- distributing and distributed investments always name their transfer; others never do.
  constraint transfer_matches_status check (
    (payment_status in ('distributing', 'tokens_distributed')) = (transfer_id is not null))
);
create index investments_claimable on app.investments (created_at) where payment_status = 'confirmed';
-- The verify sweep's order: pending investments asked about least recently first.
create index investments_pending_verify on app.investments (verify_checked_at nulls first, created_at)
  where payment_status = 'pending';
create index investments_user on app.investments (user_id);
create index investments_transfer on app.investments (transfer_id) where transfer_id is not null;
alter table app.investments enable row level security;
create index investments_tokenization on app.investments (tokenization_id);
-- An investor reads their own investments (public.my_investments, my_token_holdings).
create policy investments_owner_reads on app.investments for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, tokenization_id, tokens, amount, currency, reference, payment_status,
              created_at, confirmed_at, distributed_at, transfer_id)
  on app.investments to authenticated;

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

-- Every signed Paystack event, once per identity (app.paystack_event_key): retries are
-- recognised, never re-applied. event_type and event_id are bounded keys (an over-long value is
-- stored as its digest), so no payload can exceed a btree key. payload is the event as jsonb can
-- hold it (sanitised by the webhook: no NUL, no lone surrogate, bounded depth); raw_body is the
-- body exactly as signed. outcome is what applying it did, reason why it could not be applied.
create table app.paystack_events (
  id bigint generated always as identity primary key,
  event_type text not null,
  event_id text not null,
  reference text,
  payload jsonb not null,
  outcome text,
  investment_id uuid,
  received_at timestamptz not null default now(),
  -- webhook: a signed delivery; verify: the sweep's answer from GET /transaction/verify.
  source text not null default 'webhook' check (source in ('webhook', 'verify')),
  reason text,
  raw_body text,
  -- An admin dismissed the alert of an event that could not be applied (admin_dismiss_paystack_event).
  dismissed_at timestamptz,
  unique (event_type, event_id)
);
-- paystack_event_unprocessable: the open ones.
create index paystack_events_unapplied on app.paystack_events (received_at)
  where outcome in ('unprocessable', 'unknown_reference') and dismissed_at is null;
-- webhook_silent: when the last signed delivery came.
create index paystack_events_webhook_received on app.paystack_events (received_at)
  where source = 'webhook';
alter table app.paystack_events enable row level security;
-- An investor reads the history of their own investments (public.my_investments): which event,
-- what it did, when. Never the payload (it names the customer).
-- (The subquery sees only the caller's own investments, through their policy.)
create policy paystack_events_owner_reads on app.paystack_events for select to authenticated
  using (investment_id in (select i.id from app.investments i));
create index paystack_events_investment on app.paystack_events (investment_id);
grant select (id, event_type, outcome, investment_id, received_at) on app.paystack_events
  to authenticated;

create table app.token_holdings (
  user_id uuid not null references auth.users (id),
  tokenization_id uuid not null references app.tokenizations (id),
  balance numeric(78, 0) not null default 0 check (balance >= 0),
  updated_at timestamptz not null default now(),
  primary key (user_id, tokenization_id)
);
alter table app.token_holdings enable row level security;
create index token_holdings_tokenization on app.token_holdings (tokenization_id);
-- An investor reads their own holdings (public.my_token_holdings).
create policy token_holdings_owner_reads on app.token_holdings for select to authenticated
  using (user_id = (select auth.uid()));
grant select (user_id, tokenization_id, balance) on app.token_holdings to authenticated;

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
    -- mined: a receipt exists but is shallower than the chain's min_confirmations; final
    -- (confirmed) only at that depth. A mined transfer whose block is reorganised away goes back to
    -- broadcast with the same bytes (its nonce may still be mined).
    check (status in ('planned', 'signed', 'broadcast', 'mined', 'confirmed', 'failed')),
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
  -- admin_resend_transfer: the recorded bytes of a confirmed transfer reorganised away, to be sent
  -- again by the next reconciler run (resent_at: when it did).
  resend_requested_at timestamptz,
  resent_at timestamptz,
  constraint signed_has_bytes check (status in ('planned', 'failed') or (tx_hash is not null and raw_tx is not null))
);

-- The transfer stages, named once. Live: the transfer holds its nonce and is not final yet (it
-- may still be mined, or is mined but not deep enough). Unmined: nothing of it is in the chain's
-- latest state yet, so the treasury's balances do not show what it will spend. Arrays from
-- immutable functions, so that a query's `status = any (...)` is folded to a constant when it is
-- planned and still matches the partial indexes below.
create or replace function app.live_transfer_statuses()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['planned', 'signed', 'broadcast', 'mined']
$$;

create or replace function app.unmined_transfer_statuses()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['planned', 'signed', 'broadcast']
$$;

-- One live or confirmed transfer per nonce: a nonce can be mined only once.
create unique index token_transfers_nonce on app.token_transfers (chain_id, signer, nonce)
  where status <> 'failed';
create index token_transfers_open on app.token_transfers (updated_at)
  where status in ('planned', 'signed', 'broadcast');
-- Mined transfers waiting for depth: the reconciler looks at them on every run.
create index token_transfers_mined on app.token_transfers (updated_at) where status = 'mined';
create index token_transfers_user on app.token_transfers (user_id, tokenization_id);
-- The newest claim (distribution_stalled).
create index token_transfers_created on app.token_transfers (created_at);
alter table app.token_transfers enable row level security;
create index token_transfers_tokenization on app.token_transfers (tokenization_id);
-- An investor reads the transaction hash of their own transfers (public.my_investments).
create policy token_transfers_owner_reads on app.token_transfers for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, tx_hash) on app.token_transfers to authenticated;

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

-- The treasury's addresses, so that nobody can name one as their payout wallet. Every signer that
-- ever claimed a nonce is one; the stack (or an operator) registers it before the first claim.
create table app.treasury_accounts (
  address text primary key check (address ~ '^0x[0-9a-f]{40}$'),
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
