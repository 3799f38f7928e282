-- Statement-level reference checks that stay cheap for a slot of a million rows.
-- (They replace per-row foreign keys: see app.check_entry_references in the ledger migration.)

-- Whether a statement-level reference check over p_rows new rows should hash the whole
-- referenced table (one sequential pass) rather than probe its index once per row. A probe reads
-- ~4 pages and a sequential pass ~1/8 page per row, so hashing wins from about an eighth of the
-- table's rows on. Small postings (a stake, a funding credit) keep their index probes.
create or replace function app.bulk_check(p_rows bigint, p_table regclass)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_rows * 8 >= (select greatest(c.reltuples, 0) from pg_catalog.pg_class c where c.oid = p_table)
$$;

-- Turns nested loops off for the rest of the transaction when p_rows is a bulk share of p_table
-- (the planner otherwise probes the table once per row: 4 s at a million rows, against 1 s for one
-- hash join). Returns the previous setting; the caller puts it back right after its check query.
create or replace function app.prefer_hash_for_bulk(p_rows bigint, p_table regclass)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_previous text := pg_catalog.current_setting('enable_nestloop');
begin
  if app.bulk_check(p_rows, p_table) then
    perform pg_catalog.set_config('enable_nestloop', 'off', true);
  end if;
  return v_previous;
end
$$;

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
