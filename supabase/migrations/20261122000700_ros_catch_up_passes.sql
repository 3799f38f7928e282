-- A catch-up pays its due slots in passes of at most `ros_slots_per_pass` slots (default 10).
-- One pass over every due slot sorts (stakes × slots) rows: 100 slots over a million stakes would be
-- ~100M rows of temp files, and if the database refused that (disk, temp_file_limit) the fall-back
-- ran all 100 slots one by one, the slowest way. Passes bound the sort; each pass writes every stake
-- and wallet once, so 100 slots make 10 row versions per stake instead of 100.
insert into app.settings (key, value) values ('ros_slots_per_pass', '10') on conflict (key) do nothing;

create or replace function public.execute_due_slots(p_now timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slots bigint[];
  v_pass bigint[];
  v_slot bigint;
  v_per_pass int := greatest(coalesce(app.setting('ros_slots_per_pass')::int, 10), 1);
  v_next int := 1;
begin
  perform app.require_service('only the service role and pg_cron run slots');
  -- One executor at a time; a concurrent call returns 0 at once: the running one takes every
  -- due slot, including any that became due meanwhile.
  if not pg_catalog.pg_try_advisory_xact_lock(7301, 0) then
    return 0;
  end if;
  select coalesce(array_agg(d.id order by d.scheduled_for, d.distribution_date, d.slot_number), '{}')
    into v_slots
    from (select s.id, s.scheduled_for, s.distribution_date, s.slot_number
            from app.ros_slots s
           where s.status = 'PENDING' and s.scheduled_for <= coalesce(p_now, pg_catalog.now())
             for update skip locked) d;
  while v_next <= pg_catalog.cardinality(v_slots) loop
    v_pass := v_slots[v_next : v_next + v_per_pass - 1];
    v_next := v_next + v_per_pass;
    if pg_catalog.cardinality(v_pass) > 1 then
      begin
        perform app.run_slots_batch(v_pass);
        continue;
      exception when others then
        -- Undone as a whole; one slot at a time then pays what can be paid and marks what fails.
        raise warning 'ROS pass of % slots failed (%), running them one by one',
          pg_catalog.cardinality(v_pass), sqlerrm;
      end;
    end if;
    foreach v_slot in array v_pass loop
      perform app.run_slot(v_slot, false);
    end loop;
  end loop;
  return pg_catalog.cardinality(v_slots);
end
$$;
comment on function public.execute_due_slots(timestamptz) is
  'Service and pg_cron: runs every PENDING slot with scheduled_for <= p_now, in time then slot '
  'order; returns how many ran. Each slot pays all eligible stakes once, set-based, and ends '
  'COMPLETED (with counts) or FAILED (with the error). Several due slots are paid in passes of up '
  'to ros_slots_per_pass (each slot with its own ledger transaction and counts), a pass falling '
  'back to one slot at a time on any error. Concurrent calls never run a slot twice.';
