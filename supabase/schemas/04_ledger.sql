-- A double-entry ledger. Every transaction's entries sum to zero; an account's balance is the sum of
-- its entries and is written in the same transaction as them. Entries are immutable.
-- Sign convention: +amount increases a user's wallet; platform accounts carry the other side.

-- The kinds of account, listed once: each user's wallets, and the platform's accounts, named
-- platform_* (the only accounts without a user: user_accounts_have_user, below).
-- A check reads it: see README, "Changing the database", before changing it.
create or replace function app.account_kinds()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['funded', 'staked', 'earnings', 'platform_funding_clearing', 'platform_ros_expense']
$$;

-- The wallets every user has (05_profiles_and_wallets.sql opens them): the kinds not the platform's.
create or replace function app.wallet_kinds()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.array_agg(k order by n)
    from pg_catalog.unnest(app.account_kinds()) with ordinality u(k, n)
   where k not like 'platform\_%'
$$;

create table app.accounts (
  id bigint generated always as identity primary key,
  user_id uuid references auth.users (id) on delete restrict,
  kind text not null check (kind = any (app.account_kinds())),
  currency text not null default 'NGN',
  balance numeric(20, 2) not null default 0,
  created_at timestamptz not null default now(),
  constraint user_accounts_have_user check ((kind like 'platform_%') = (user_id is null)),
  constraint user_wallets_never_negative check (kind like 'platform_%' or balance >= 0)
) with (fillfactor = 60);
 -- room for HOT updates: every slot run updates many balances
create unique index accounts_user_kind on app.accounts (user_id, kind, currency) where user_id is not null;
create unique index accounts_platform_kind on app.accounts (kind, currency) where user_id is null;
alter table app.accounts enable row level security;
-- An investor reads their own wallets (public.my_wallets, my_transactions).
create policy accounts_owner_reads on app.accounts for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, kind, currency, balance) on app.accounts to authenticated;

insert into app.accounts (user_id, kind, currency) values
  (null, 'platform_funding_clearing', 'NGN'),
  (null, 'platform_ros_expense', 'NGN');

create table app.ledger_transactions (
  id bigint generated always as identity primary key,
  idempotency_key text not null unique,
  kind text not null check (kind in ('funding', 'stake', 'ros_payout')),
  description text,
  created_at timestamptz not null default now()
);
alter table app.ledger_transactions enable row level security;

-- References are checked once per statement over the transition table (one anti-join) instead of
-- a per-row foreign-key trigger: a slot inserts an entry per stake, and per-row FK checks were a
-- quarter of its cost. Accounts and transactions are never deleted (triggers below), so a
-- reference that was valid on insert stays valid.
create table app.ledger_entries (
  id bigint generated always as identity primary key,
  transaction_id bigint not null,
  account_id bigint not null,
  amount numeric(20, 2) not null check (amount <> 0),
  created_at timestamptz not null default now()
);
create index ledger_entries_account on app.ledger_entries (account_id);
alter table app.ledger_entries enable row level security;
-- An investor reads the entries of their own wallets and those entries' transactions
-- (public.my_transactions: wallet funding).
create policy ledger_entries_owner_reads on app.ledger_entries for select to authenticated
  using (account_id in (select a.id from app.accounts a where a.user_id = (select auth.uid())));
grant select (id, transaction_id, account_id, amount, created_at) on app.ledger_entries
  to authenticated;
create policy ledger_transactions_owner_reads on app.ledger_transactions for select to authenticated
  -- The subquery sees only the caller's own entries, through the policy above.
  using (exists (select 1 from app.ledger_entries e
                  where e.transaction_id = ledger_transactions.id));
grant select (id, kind, description) on app.ledger_transactions to authenticated;
-- Entries by transaction. Without it, two lookups read every entry ever written: the guard that
-- lets a slot run that paid nobody delete its empty transaction, and credit_funded_wallet's
-- duplicate check. A slot's entries share one new transaction id, so they fill this index at its
-- right-most page, in order.
-- `if not exists`: on a database that already holds many entries, build it first with
-- `create index concurrently ledger_entries_transaction on app.ledger_entries (transaction_id)`
-- (a plain build blocks inserts into the ledger while it runs); the migration then keeps it.
create index if not exists ledger_entries_transaction on app.ledger_entries (transaction_id);

create or replace function app.forbid_mutation()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'rows of app.% are permanent: post a reversing transaction instead', tg_table_name
    using errcode = 'PT409';
end
$$;

create trigger ledger_entries_immutable before update or delete on app.ledger_entries
  for each row execute function app.forbid_mutation();

create trigger accounts_permanent before delete on app.accounts
  for each row execute function app.forbid_mutation();

-- A ledger transaction can only be removed while it has no entries (a slot run that paid nobody).
create or replace function app.forbid_delete_posted_transaction()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from app.ledger_entries where transaction_id = old.id) then
    raise exception 'ledger transaction % has entries and is permanent', old.id using errcode = 'PT409';
  end if;
  return old;
end
$$;

create trigger ledger_transactions_permanent before update or delete on app.ledger_transactions
  for each row execute function app.forbid_delete_posted_transaction();

create or replace function app.check_entry_references()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_bad boolean;
  v_nestloop text := app.prefer_hash_for_bulk((select count(*) from new_entries), 'app.accounts');
begin
  -- EXECUTE plans for the actual number of rows each time: a cached plan made for a slot of a
  -- million entries (hash join over every account) must not serve a single-entry posting.
  -- Counting the matches lets the planner join in whichever direction is cheaper (an anti-join
  -- always hashed all accounts); ids are unique, so equal counts mean every reference exists.
  execute 'select (select count(*) from new_entries)
              <> (select count(*) from new_entries n
                    join app.accounts a on a.id = n.account_id
                    join app.ledger_transactions t on t.id = n.transaction_id)'
    into v_bad;
  perform pg_catalog.set_config('enable_nestloop', v_nestloop, true);
  if v_bad then
    raise exception 'a ledger entry references a missing account or transaction'
      using errcode = '23503';
  end if;
  return null;
end
$$;

create trigger ledger_entries_references after insert on app.ledger_entries
  referencing new table as new_entries
  for each statement execute function app.check_entry_references();

create type app.leg as (account_id bigint, amount numeric);

-- Posts one balanced transaction. Returns its id, or null when the idempotency key was already
-- used (the earlier posting stands). Accounts are locked in id order so concurrent postings
-- cannot deadlock.
create or replace function app.post(p_key text, p_kind text, p_description text, p_legs app.leg[])
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_tx bigint;
begin
  if (select coalesce(sum(l.amount), 0) from unnest(p_legs) l) <> 0 then
    raise exception 'unbalanced ledger transaction %', p_key using errcode = 'XX000';
  end if;
  insert into app.ledger_transactions (idempotency_key, kind, description)
  values (p_key, p_kind, p_description)
  on conflict (idempotency_key) do nothing
  returning id into v_tx;
  if v_tx is null then
    return null;
  end if;
  perform 1 from app.accounts a
   where a.id in (select l.account_id from unnest(p_legs) l)
   order by a.id
   for update;
  insert into app.ledger_entries (transaction_id, account_id, amount)
  select v_tx, l.account_id, l.amount from unnest(p_legs) l where l.amount <> 0;
  update app.accounts a
     set balance = a.balance + s.amount
    from (select l.account_id, sum(l.amount) as amount from unnest(p_legs) l group by l.account_id) s
   where a.id = s.account_id;
  return v_tx;
end
$$;

create or replace function app.account_id(p_user uuid, p_kind text, p_currency text default 'NGN')
returns bigint
language sql
stable
set search_path = ''
as $$
  -- Two branches so that each uses its unique index (an OR would scan every account).
  select id from app.accounts
   where p_user is not null and user_id = p_user and kind = p_kind and currency = p_currency
  union all
  select id from app.accounts
   where p_user is null and user_id is null and kind = p_kind and currency = p_currency
$$;

-- Invariant check used by tests, the chaos harness and reconciliation: returns one row per
-- violation (an unbalanced transaction, or an account whose balance is not the sum of entries).
create or replace function app.ledger_violations()
returns table (kind text, ref bigint, detail text)
language sql
stable
set search_path = ''
as $$
  select 'unbalanced_transaction', e.transaction_id, 'sum ' || sum(e.amount)::text
    from app.ledger_entries e group by e.transaction_id having sum(e.amount) <> 0
  union all
  select 'balance_mismatch', a.id, a.balance::text || ' <> ' || coalesce(s.total, 0)::text
    from app.accounts a
    left join (select account_id, sum(amount) as total from app.ledger_entries group by account_id) s
      on s.account_id = a.id
   where a.balance <> coalesce(s.total, 0)
$$;
