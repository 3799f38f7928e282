-- Token transfers: the outbox (F8), each signed attempt, and the holdings they add to. The transfer
-- state machine is app.transfer_transitions(), below, moved by the functions of
-- 20_token_distribution.sql and 21_transfer_recovery.sql; a trigger refuses any other change.
-- confirmed and failed are final; holdings are only ever added to, in the transaction that
-- confirms.
insert into app.settings (key, value) values
  ('transfer_gas_limit', '120000'),
  ('transfer_max_fee_per_gas', '20000000000'),
  ('transfer_max_priority_fee_per_gas', '1000000000'),
  -- 'on': a confirmed payment immediately queues a distribution run for its investor.
  ('auto_distribute', 'on')
on conflict (key) do nothing;

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

-- The outbox (F8): everything needed to sign a transfer again to the same bytes is stored before
-- anything is broadcast, and the signed raw transaction is stored before broadcast too.
create table app.token_transfers (
  id uuid primary key default gen_random_uuid(),
  tokenization_id uuid not null references app.tokenizations (id),
  user_id uuid not null references auth.users (id),
  to_address app.address not null,
  token_address app.address not null,
  chain_id bigint not null,
  signer app.address not null,
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
  tx_hash app.tx_hash,
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
-- planned and still matches the partial indexes below. token_transfers_open reads the unmined
-- set: see README, "Changing the database", before changing it.
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

-- The transfer state machine: each allowed change of status and when it happens. The table is the
-- rule: token_transfers_status_transition refuses every other change.
create or replace function app.transfer_transitions()
returns table (from_status text, to_status text, made_by text)
language sql
immutable
set search_path = ''
as $$
  values
    ('planned',   'signed',    'its signed bytes are recorded, before any broadcast'),
    ('planned',   'failed',    'it would revert, or its nonce was used by another transaction'),
    ('signed',    'broadcast', 'a node accepted it (or reported it known)'),
    ('signed',    'mined',     'a receipt shallower than min_confirmations'),
    ('signed',    'confirmed', 'a receipt min_confirmations deep: holdings added'),
    ('signed',    'failed',    'it can never be mined (its nonce used by another)'),
    ('broadcast', 'mined',     'a receipt shallower than min_confirmations'),
    ('broadcast', 'confirmed', 'a receipt min_confirmations deep: holdings added'),
    ('broadcast', 'failed',    'it can never be mined (its nonce used by another)'),
    ('mined',     'confirmed', 'its receipt is min_confirmations deep: holdings added'),
    ('mined',     'broadcast', 'its block was reorganised away (the same bytes again)'),
    ('mined',     'failed',    'it can never be mined (its nonce used by another)')
$$;

-- One distribution, three vocabularies: the investment's payment_status, its transfer's status
-- and the investment's trail (investment_events.status) each name the same stage in their own
-- words. This is the map between them. Released: the transfer failed and the investment is
-- claimable again (after a third failure it is failed; with a refund or dispute behind it,
-- refunded or disputed), no longer naming the transfer; the trail's event does.
create or replace function app.distribution_stages()
returns table (stage text, investment_status text, transfer_status text, event_status text)
language sql
immutable
set search_path = ''
as $$
  values
    ('claimed',   'distributing',       'planned',   'processing'),
    ('signed',    'distributing',       'signed',    'processing'),
    ('broadcast', 'distributing',       'broadcast', 'processing'),
    ('mined',     'distributing',       'mined',     'processing'),
    ('final',     'tokens_distributed', 'confirmed', 'success'),
    ('released',  'confirmed',          'failed',    'failed')
$$;

create trigger token_transfers_status_transition
  before update of status on app.token_transfers
  for each row when (old.status is distinct from new.status)
  execute function app.check_transition('status', 'app.transfer_transitions');

-- One live or confirmed transfer per nonce: a nonce can be mined only once.
create unique index token_transfers_nonce on app.token_transfers (chain_id, signer, nonce)
  where status <> 'failed';
create index token_transfers_open on app.token_transfers (updated_at)
  where status = any (app.unmined_transfer_statuses());
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
  tx_hash app.tx_hash not null,
  raw_tx text not null,
  max_fee_per_gas numeric(78, 0),
  max_priority_fee_per_gas numeric(78, 0),
  created_at timestamptz not null default now(),
  primary key (transfer_id, tx_hash)
);
create unique index transfer_attempts_hash on app.transfer_attempts (tx_hash);
alter table app.transfer_attempts enable row level security;
