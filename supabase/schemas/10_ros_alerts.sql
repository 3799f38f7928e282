-- ROS monitoring (F10): failures must be loud. Each alert names its day and slot.

-- Counting a slot reads every stake (about a second at a million), so the alerts cannot recount
-- every completed slot of a week on each read. The last count of each slot is kept here, with the
-- slot's version it counted (runs, users_processed): a retry or a compensation changes the
-- version, and a count of an older version is stale.
create table app.ros_slot_counts (
  slot_id bigint primary key references app.ros_slots (id),
  runs int not null,
  users_processed int not null,
  missing bigint not null,
  eligible bigint not null,
  counted_at timestamptz not null
);
alter table app.ros_slot_counts enable row level security;

insert into app.settings (key, value) values
  ('ros_alerts_count_budget', '2 seconds'),
  ('ros_count_budget', '30 seconds')
on conflict (key) do nothing;

-- The completed slots of [p_from, p_to], those whose count is missing or stale first, then the
-- longest uncounted: the order in which both the alerts and the counting job spend a budget.
create or replace function app.slots_to_count(p_from date, p_to date)
returns setof app.ros_slots
language sql
stable
set search_path = ''
as $$
  select s.* from app.ros_slots s
    left join app.ros_slot_counts c on c.slot_id = s.id
   where s.distribution_date between p_from and p_to and s.status = 'COMPLETED'
   order by (c.slot_id is not null and c.runs = s.runs and c.users_processed = s.users_processed),
            c.counted_at nulls first, s.distribution_date desc, s.slot_number
$$;

-- pg_cron (through app.deliver_alerts, every minute): counts the completed slots of the last 7
-- days in that order for at most `ros_count_budget` (30 s, at most a quarter of the statement
-- timeout) and keeps each count. Returns how many it counted. Every slot is recounted in turn, so a
-- stake that appears late (a backdated or late-committed one) is found within a few runs.
create or replace function app.count_ros_slots()
returns int
language plpgsql
set search_path = ''
as $$
declare
  v_start timestamptz := pg_catalog.clock_timestamp();
  v_budget interval := app.budget_within_timeout(
    app.setting('ros_count_budget')::interval, 0.25);
  v_today date := app.business_today();
  v_id bigint;
  v_counted int := 0;
begin
  for v_id in select s.id from app.slots_to_count(v_today - 7, v_today) s loop
    exit when pg_catalog.clock_timestamp() - v_start >= v_budget;
    -- The slot and its payouts are read in one statement: one snapshot, so the version kept is
    -- the version counted.
    insert into app.ros_slot_counts (slot_id, runs, users_processed, missing, eligible, counted_at)
    select s.id, s.runs, s.users_processed, n.missing, n.eligible, pg_catalog.clock_timestamp()
      from app.ros_slots s, lateral app.count_slot_payouts(s) n
     where s.id = v_id and s.status = 'COMPLETED'
    on conflict (slot_id) do update
       set runs = excluded.runs, users_processed = excluded.users_processed,
           missing = excluded.missing, eligible = excluded.eligible, counted_at = excluded.counted_at;
    v_counted := v_counted + 1;
  end loop;
  return v_counted;
end
$$;
revoke all on function app.count_ros_slots() from public;

-- The completed slots of [p_from, p_to] counted now, in app.slots_to_count's order, until p_budget
-- is spent: what admin_ros_alerts reads live (it keeps nothing: a read is stable).
create or replace function app.count_slots_live(p_from date, p_to date, p_budget interval)
returns table (slot_id bigint, missing bigint, eligible bigint, counted_at timestamptz)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_start timestamptz := pg_catalog.clock_timestamp();
  v_slot app.ros_slots;
begin
  for v_slot in select * from app.slots_to_count(p_from, p_to) loop
    exit when pg_catalog.clock_timestamp() - v_start >= p_budget;
    slot_id := v_slot.id;
    select n.missing, n.eligible into missing, eligible from app.count_slot_payouts(v_slot) n;
    counted_at := pg_catalog.clock_timestamp();
    return next;
  end loop;
end
$$;

-- Counts what it can within `ros_alerts_count_budget` (2 s, at most a quarter of the statement
-- timeout: it answers inside the 8 s of `authenticated` at any size) and takes the kept count of
-- app.count_ros_slots for the rest; each count says when it was made (`counted_at`).
create or replace function public.admin_ros_alerts(p_distribution_date date default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_overdue interval := app.setting('overdue_slot_after')::interval;
  v_today date := app.business_today();
  v_budget interval := app.budget_within_timeout(
    app.setting('ros_alerts_count_budget')::interval, 0.25);
begin
  perform app.require_admin(false);
  return coalesce((
    with slots as (
      select s, app.slot_status(s) as st
        from app.ros_slots s
       where (p_distribution_date is null and s.distribution_date between v_today - 7 and v_today)
          or s.distribution_date = p_distribution_date
    ), live as materialized (
      -- Counted first, within the budget; the rest of the statement reads kept counts.
      select * from app.count_slots_live(coalesce(p_distribution_date, v_today - 7),
                                         coalesce(p_distribution_date, v_today), v_budget)
    ), measured as (
      select x.s, x.st, coalesce(l.missing, c.missing, 0) as missing,
             coalesce(l.eligible, c.eligible, 0) as eligible, coalesce(l.counted_at, c.counted_at) as counted_at
        from slots x
        left join live l on x.st = 'COMPLETED' and l.slot_id = (x.s).id
        left join app.ros_slot_counts c on x.st = 'COMPLETED' and c.slot_id = (x.s).id
    ), alerts as (
      select 'slot_failed' as kind, (s).distribution_date, (s).slot_number,
             jsonb_build_object('error_message', (s).error_message, 'error_count', (s).error_count,
                                'executed_at', (s).executed_at) as detail
        from measured where st = 'FAILED'
      union all
      select 'silent_completion', (s).distribution_date, (s).slot_number,
             jsonb_build_object('users_processed', 0, 'eligible_stakes', eligible, 'counted_at', counted_at)
        from measured where st = 'COMPLETED' and (s).users_processed = 0 and eligible > 0
      union all
      select 'partial_completion', (s).distribution_date, (s).slot_number,
             jsonb_build_object('users_processed', (s).users_processed, 'missing', missing,
                                'counted_at', counted_at)
        from measured where st = 'COMPLETED' and (s).users_processed > 0 and missing > 0
      union all
      select 'partial_completion', d.distribution_date, null,
             jsonb_build_object('completed', d.completed, 'failed', d.failed)
        from (select (s).distribution_date,
                     count(*) filter (where st = 'COMPLETED') as completed,
                     count(*) filter (where st = 'FAILED') as failed,
                     count(*) filter (where st in ('PENDING', 'EXECUTING')) as open
                from measured group by 1) d
       where d.completed > 0 and d.failed > 0 and d.open = 0
      union all
      select 'missing_payouts', (s).distribution_date, (s).slot_number,
             jsonb_build_object('missing', missing, 'repair', 'admin_retry_slot', 'counted_at', counted_at)
        from measured where missing > 0
      union all
      select 'overdue_slot', (s).distribution_date, (s).slot_number,
             jsonb_build_object('scheduled_for', (s).scheduled_for, 'late_by', now() - (s).scheduled_for)
        from measured where st = 'PENDING' and (s).scheduled_for < now() - v_overdue
    )
    select jsonb_agg(jsonb_build_object('kind', kind, 'distribution_date', distribution_date,
                                        'slot_number', slot_number, 'detail', detail)
                     order by distribution_date, slot_number nulls first, kind)
      from alerts), '[]'::jsonb);
end
$$;
comment on function public.admin_ros_alerts(date) is
  'Admin or service: ROS alerts for a day (default: the last 7 days), as [{kind, distribution_date, '
  'slot_number, detail}]. Kinds: slot_failed, silent_completion (COMPLETED with 0 paid while stakes '
  'were eligible), partial_completion (a slot or a day that paid only part), missing_payouts '
  '(eligible stakes without a payout for a completed slot: repair with admin_retry_slot), '
  'overdue_slot (PENDING past its time: is the executor running?).';
revoke all on function public.admin_ros_alerts(date) from public;
grant execute on function public.admin_ros_alerts(date) to authenticated, service_role;
