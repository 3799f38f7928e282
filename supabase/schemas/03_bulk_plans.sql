-- Statement-level reference checks that stay cheap for a million rows: whether a check over a
-- batch of new rows should hash the referenced table instead of probing its index row by row.
-- Used by the ledger's and the payouts' reference triggers and by the slot executor.

-- (The checks stand in for per-row foreign keys: see app.check_entry_references in 04_ledger.sql.)

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
