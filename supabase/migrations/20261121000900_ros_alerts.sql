-- ROS monitoring (F10): failures must be loud. Each alert names its day and slot.

-- Stakes that a slot should pay and has not: eligible at scheduled_for, active now, a non-zero
-- payout, and no payout row for (stake, date, slot). Exactly what admin_retry_slot would pay.
create or replace function app.slot_missing_payouts(p_slot app.ros_slots)
returns bigint
language sql
stable
set search_path = ''
as $$
  select count(*) from app.stakes k
   where k.status = 'active'
     and k.created_at <= p_slot.scheduled_for
     and floor(k.amount * p_slot.ros_percentage) > 0
     and not exists (select 1 from app.ros_payouts p
                      where p.stake_id = k.id and p.distribution_date = p_slot.distribution_date
                        and p.slot_number = p_slot.slot_number)
$$;

-- Stakes that were eligible when the slot ran (including those this slot completed at their cap).
create or replace function app.slot_eligible_stakes(p_slot app.ros_slots)
returns bigint
language sql
stable
set search_path = ''
as $$
  select count(*) from app.stakes k
   where k.created_at <= p_slot.scheduled_for
     and floor(k.amount * p_slot.ros_percentage) > 0
     and (k.status = 'active' or (k.status = 'completed' and k.completed_at >= p_slot.started_at))
$$;

create or replace function public.admin_ros_alerts(p_distribution_date date default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_overdue interval := coalesce(app.setting('overdue_slot_after'), '5 minutes')::interval;
  v_today date := app.business_today();
begin
  perform app.require_admin(false);
  return coalesce((
    with slots as (
      select s, app.slot_status(s) as st
        from app.ros_slots s
       where (p_distribution_date is null and s.distribution_date between v_today - 7 and v_today)
          or s.distribution_date = p_distribution_date
    ), measured as (
      select s, st,
             case when st = 'COMPLETED' then app.slot_missing_payouts(s) else 0 end as missing,
             case when st = 'COMPLETED' and (s).users_processed = 0 then app.slot_eligible_stakes(s) else 0 end as eligible
        from slots
    ), alerts as (
      select 'slot_failed' as kind, (s).distribution_date, (s).slot_number,
             jsonb_build_object('error_message', (s).error_message, 'error_count', (s).error_count,
                                'executed_at', (s).executed_at) as detail
        from measured where st = 'FAILED'
      union all
      select 'silent_completion', (s).distribution_date, (s).slot_number,
             jsonb_build_object('users_processed', 0, 'eligible_stakes', eligible)
        from measured where st = 'COMPLETED' and (s).users_processed = 0 and eligible > 0
      union all
      select 'partial_completion', (s).distribution_date, (s).slot_number,
             jsonb_build_object('users_processed', (s).users_processed, 'missing', missing)
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
             jsonb_build_object('missing', missing, 'repair', 'admin_retry_slot')
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
