-- Daily return-on-stake: a declaration per business day, up to 100 scheduled slots, and the
-- payouts. The unique key (stake, date, slot) is what makes "each slot pays each stake once"
-- structural (F1: the old check looked at the date only, so slot 2 was skipped).
create table app.ros_declarations (
  id bigint generated always as identity primary key,
  distribution_date date not null unique,
  multi_slot_enabled boolean not null default true,
  premium_pool numeric(20, 2) not null default 0 check (premium_pool >= 0),
  performance_pool numeric(20, 2) not null default 0 check (performance_pool >= 0),
  description text,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
alter table app.ros_declarations enable row level security;

-- A slot's statuses, named once (upper case, as the contract spells them): the column's check and
-- the TypeScript union (database.types.ts SlotStatuses) both read them.
create or replace function app.slot_statuses()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['PENDING', 'EXECUTING', 'COMPLETED', 'FAILED', 'CANCELLED']
$$;

create table app.ros_slots (
  id bigint generated always as identity primary key,
  declaration_id bigint not null references app.ros_declarations (id),
  distribution_date date not null,
  slot_number int not null check (slot_number between 1 and 100),
  ros_percentage numeric(7, 4) not null check (ros_percentage > 0 and ros_percentage <= 100),
  scheduled_for timestamptz not null,
  status text not null default 'PENDING' check (status = any (app.slot_statuses())),
  started_at timestamptz,
  executed_at timestamptz,
  users_processed int not null default 0,
  total_distributed numeric(20, 2) not null default 0,
  error_count int not null default 0,
  error_message text,
  runs int not null default 0,
  -- A slot is paid in parts of stakes in id order (08_ros_execution.sql): the last stake id its
  -- current run has covered; null before the first part. Set only while the slot is EXECUTING.
  part_after uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (distribution_date, slot_number)
);
create index ros_slots_due on app.ros_slots (scheduled_for, distribution_date, slot_number)
  where status = 'PENDING';
-- Slots between two parts (or a retry handed to the executor): continued before any new slot.
create index ros_slots_executing on app.ros_slots (scheduled_for, distribution_date, slot_number)
  where status = 'EXECUTING';
alter table app.ros_slots enable row level security;
create index ros_slots_declaration on app.ros_slots (declaration_id);
-- The slot schedule is the same for every investor: my_transactions reads when each slot ran.
create policy ros_slots_investors_read on app.ros_slots for select to authenticated using (true);
grant select (distribution_date, slot_number, scheduled_for, runs) on app.ros_slots to authenticated;

-- One row per (stake, date, slot), enforced by the primary key. The stake reference is checked
-- per statement (see app.check_entry_references for why); stakes are never deleted.
create table app.ros_payouts (
  stake_id uuid not null,
  distribution_date date not null,
  slot_number int not null,
  user_id uuid not null,
  -- The wallet it was credited to: returned by the insert, so the slot needs no second join.
  earnings_account_id bigint not null,
  amount numeric(20, 2) not null check (amount > 0),
  ledger_transaction_id bigint not null,
  created_at timestamptz not null default now(),
  -- (date, slot) first: a slot's inserts all land in one new, right-most part of the index
  -- instead of pages scattered over every day of history.
  constraint one_payout_per_stake_slot primary key (distribution_date, slot_number, stake_id)
);
alter table app.ros_payouts enable row level security;
-- An investor reads their own payouts (public.my_transactions).
create policy ros_payouts_owner_reads on app.ros_payouts for select to authenticated
  using (user_id = (select auth.uid()));
grant select (stake_id, distribution_date, slot_number, user_id, amount, created_at)
  on app.ros_payouts to authenticated;

create or replace function app.check_payout_references()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_bad boolean;
  v_nestloop text := app.prefer_hash_for_bulk((select count(*) from new_payouts), 'app.stakes');
begin
  -- EXECUTE: planned for the actual row count each time (see app.check_entry_references).
  execute 'select exists (select 1 from new_payouts n
              where not exists (select 1 from app.stakes s where s.id = n.stake_id and s.user_id = n.user_id
                                   and s.earnings_account_id = n.earnings_account_id))'
    into v_bad;
  perform pg_catalog.set_config('enable_nestloop', v_nestloop, true);
  if v_bad then
    raise exception 'a payout references a missing stake' using errcode = '23503';
  end if;
  return null;
end
$$;

create trigger ros_payouts_references after insert on app.ros_payouts
  referencing new table as new_payouts
  for each statement execute function app.check_payout_references();

-- Lock keys (transaction-level advisory locks only: session locks break behind Supavisor), taken
-- only through the functions below.
-- (7301, 0): one slot executor at a time, so two runs never post to the same wallets at once.
-- (7302, slot id): held while a part of a slot pays; other sessions see a PENDING slot whose first
--   part is being paid (not committed yet) as EXECUTING. From then on EXECUTING is stored.

-- The executor's lock: waited for (p_wait) or tried; returns whether it is held.
create or replace function app.lock_ros_executor(p_wait boolean)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if p_wait then
    perform pg_catalog.pg_advisory_xact_lock(7301, 0);
    return true;
  end if;
  return pg_catalog.pg_try_advisory_xact_lock(7301, 0);
end
$$;

-- The slots' locks, in id order (two callers never wait on each other's in opposite order).
create or replace function app.lock_ros_slots(p_slot_ids bigint[])
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform pg_catalog.pg_advisory_xact_lock(7302, id::int)
     from (select distinct u.id from unnest(p_slot_ids) as u(id) order by u.id) as ids;
end
$$;

create or replace function app.slot_is_executing(p_slot_id bigint)
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (
    select 1 from pg_catalog.pg_locks l
     where l.locktype = 'advisory' and l.classid = 7302 and l.objid = p_slot_id::oid
       and l.objsubid = 2 and l.granted
       and l.pid <> pg_catalog.pg_backend_pid()
  )
$$;

-- The status as others see it: a PENDING row whose execution is in progress reads EXECUTING.
create or replace function app.slot_status(p_slot app.ros_slots)
returns text
language sql
stable
set search_path = ''
as $$
  select case
    when p_slot.status = 'PENDING' and app.slot_is_executing(p_slot.id) then 'EXECUTING'
    else p_slot.status
  end
$$;
