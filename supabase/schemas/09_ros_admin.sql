-- Admin RPCs for ROS declarations and slots (the dashboard calls them through supabase-js).
-- Merge semantics (F4): adding slots after others completed is normal; only a slot that is
-- executing right now blocks changes to its day.
create or replace function app.slot_json(p_slot app.ros_slots)
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'slot_number', p_slot.slot_number,
    'ros_percentage', p_slot.ros_percentage,
    'scheduled_for', p_slot.scheduled_for,
    'status', app.slot_status(p_slot),
    'started_at', p_slot.started_at,
    'executed_at', p_slot.executed_at,
    'users_processed', p_slot.users_processed,
    'total_distributed', app.money_text(p_slot.total_distributed),
    'error_count', p_slot.error_count,
    'error_message', p_slot.error_message
  )
$$;

-- A declaration's status, derived from its slots (CANCELLED ones ignored); first match wins.
create or replace function app.declaration_status(p_statuses text[])
returns text
language sql
immutable
set search_path = ''
as $$
  with s as (select unnest(p_statuses) as st), live as (select st from s where st <> 'CANCELLED')
  select case
    when exists (select 1 from s) and not exists (select 1 from live) then 'CANCELLED'
    when exists (select 1 from live where st = 'EXECUTING') then 'EXECUTING'
    when not exists (select 1 from live where st in ('COMPLETED', 'FAILED')) then 'PENDING'
    when exists (select 1 from live where st = 'PENDING') then 'PARTIALLY_COMPLETED'
    when exists (select 1 from live where st = 'FAILED') then 'FAILED'
    else 'COMPLETED'
  end
$$;

create or replace function app.declaration_json(p_declaration_id bigint)
returns jsonb
language sql
stable
set search_path = ''
as $$
  with slots as (
    select s, app.slot_status(s) as st from app.ros_slots s where s.declaration_id = p_declaration_id
  )
  select jsonb_build_object(
    'distribution_date', d.distribution_date,
    'status', app.declaration_status(coalesce((select array_agg(st) from slots), '{}')),
    'multi_slot_enabled', d.multi_slot_enabled,
    'premium_pool', app.money_text(d.premium_pool),
    'performance_pool', app.money_text(d.performance_pool),
    'description', d.description,
    'total_ros_percentage', coalesce((select sum((s).ros_percentage) from slots where st <> 'CANCELLED'), 0),
    'total_distributed', app.money_text((select sum((s).total_distributed) from slots)),
    'slots', coalesce((select jsonb_agg(app.slot_json(s) order by (s).slot_number) from slots), '[]'::jsonb),
    'created_at', d.created_at,
    'updated_at', d.updated_at
  )
  from app.ros_declarations d
  where d.id = p_declaration_id
$$;

-- Validates p_slots: a JSON array of {slot_number 1..100, ros_percentage (0, 100] with at most 4
-- decimals, scheduled_for on p_date in the business time zone}. A timestamp without an offset is
-- read in the business time zone. PT400 on anything else.
create type app.slot_input as (slot_number int, ros_percentage numeric, scheduled_for timestamptz);

create or replace function app.parse_slots(p_date date, p_slots jsonb)
returns setof app.slot_input
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_tz text := app.business_tz();
  v_elem jsonb;
  v_num int;
  v_pct numeric;
  v_at timestamptz;
  v_raw text;
  v_seen int[] := '{}'::int[];
begin
  if p_date is null then
    perform app.fail('PT400', 'p_distribution_date is required');
  end if;
  if p_slots is null or jsonb_typeof(p_slots) <> 'array' or jsonb_array_length(p_slots) = 0 then
    perform app.fail('PT400', 'p_slots must be a non-empty JSON array of slots',
      'e.g. [{"slot_number":1,"ros_percentage":1,"scheduled_for":"2026-11-21T12:56:00+01:00"}]');
  end if;
  if jsonb_array_length(p_slots) > 100 then
    perform app.fail('PT400', 'at most 100 slots per day');
  end if;
  for v_elem in select e from jsonb_array_elements(p_slots) e loop
    begin
      if jsonb_typeof(v_elem) <> 'object' then
        raise exception using errcode = '22023';
      end if;
      v_num := (v_elem ->> 'slot_number')::int;
      v_pct := (v_elem ->> 'ros_percentage')::numeric;
      v_raw := v_elem ->> 'scheduled_for';
      v_at := app.business_time(v_raw, 'scheduled_for');
    exception when others then
      perform app.fail('PT400', 'malformed slot: ' || v_elem::text,
        'each slot needs slot_number (integer), ros_percentage (number) and scheduled_for (timestamp)');
    end;
    if v_num is null or v_num < 1 or v_num > 100 then
      perform app.fail('PT400', 'slot_number must be between 1 and 100: ' || v_elem::text);
    end if;
    perform app.require_percentage(v_pct, format('slot %s: ros_percentage', v_num));
    if v_at is null then
      perform app.fail('PT400', 'scheduled_for is required: ' || v_elem::text);
    end if;
    if (v_at at time zone v_tz)::date <> p_date then
      perform app.fail('PT400', format('slot %s: scheduled_for %s is not on %s in %s',
        v_num, v_raw, p_date, v_tz));
    end if;
    if v_num = any (v_seen) then
      perform app.fail('PT400', format('slot_number %s appears twice in p_slots', v_num));
    end if;
    v_seen := v_seen || v_num;
    return next (v_num, v_pct, v_at)::app.slot_input;
  end loop;
end
$$;

-- Locks a day's declaration and all its slots for a change. A slot whose part is being paid holds
-- its row lock, so NOWAIT turns "executing" into an immediate PT409 instead of a wait; a slot
-- between two parts is stored EXECUTING and refused the same way.
create or replace function app.lock_declaration(p_date date, p_must_exist boolean)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
begin
  select id into v_id from app.ros_declarations where distribution_date = p_date for update;
  if v_id is null then
    if p_must_exist then
      perform app.fail('PT404', 'no distribution declared for ' || p_date,
        'queue it first with admin_queue_distribution');
    end if;
    return null;
  end if;
  begin
    perform 1 from app.ros_slots where declaration_id = v_id order by slot_number for update nowait;
  exception when lock_not_available then
    perform app.fail('PT409', 'a slot of ' || p_date || ' is executing right now',
      'retry when it has finished (usually seconds)');
  end;
  if exists (select 1 from app.ros_slots where declaration_id = v_id and status = 'EXECUTING') then
    perform app.fail('PT409', 'a slot of ' || p_date || ' is executing right now',
      'it is paid in parts; retry when it has finished (the next executor runs continue it)');
  end if;
  return v_id;
end
$$;

create or replace function app.require_single_slot_rule(p_declaration_id bigint)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from app.ros_declarations where id = p_declaration_id and not multi_slot_enabled)
     and (select count(*) from app.ros_slots
           where declaration_id = p_declaration_id and status <> 'CANCELLED') > 1 then
    perform app.fail('PT400', 'multi_slot_enabled is false: one slot only',
      'enable multi-slot or declare a single slot');
  end if;
end
$$;

create or replace function public.admin_queue_distribution(
  p_distribution_date date,
  p_slots jsonb,
  p_multi_slot_enabled boolean default null,
  p_premium_pool numeric default null,
  p_performance_pool numeric default null,
  p_description text default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_created boolean := false;
  v_before jsonb;
  v_after jsonb;
  v_skipped int[];
  v_slots app.slot_input[];
begin
  perform app.require_admin(true);
  v_slots := array(select p from app.parse_slots(p_distribution_date, p_slots) p);
  perform app.require_money(p_premium_pool, 'p_premium_pool', false);
  perform app.require_money(p_performance_pool, 'p_performance_pool', false);
  perform app.require_text(p_description, 'p_description', app.max_note_length());

  v_id := app.lock_declaration(p_distribution_date, false);
  if v_id is null then
    insert into app.ros_declarations
      (distribution_date, multi_slot_enabled, premium_pool, performance_pool, description, created_by)
    values (p_distribution_date, coalesce(p_multi_slot_enabled, true), coalesce(p_premium_pool, 0),
            coalesce(p_performance_pool, 0), p_description, auth.uid())
    on conflict (distribution_date) do nothing
    returning id into v_id;
    v_created := v_id is not null;
    if not v_created then -- created concurrently: merge into it
      v_id := app.lock_declaration(p_distribution_date, true);
    end if;
  end if;
  v_before := case when v_created then null else app.declaration_json(v_id) end;

  update app.ros_declarations
     set multi_slot_enabled = coalesce(p_multi_slot_enabled, multi_slot_enabled),
         premium_pool = coalesce(p_premium_pool, premium_pool),
         performance_pool = coalesce(p_performance_pool, performance_pool),
         description = coalesce(p_description, description),
         updated_at = now()
   where id = v_id;

  -- New slot numbers are added; PENDING ones take the new values; COMPLETED, FAILED and
  -- CANCELLED ones are history and stay as they are.
  insert into app.ros_slots (declaration_id, distribution_date, slot_number, ros_percentage, scheduled_for)
  select v_id, p_distribution_date, q.slot_number, q.ros_percentage, q.scheduled_for
    from unnest(v_slots) q
  on conflict (distribution_date, slot_number) do update
     set ros_percentage = excluded.ros_percentage,
         scheduled_for = excluded.scheduled_for,
         updated_at = now()
   where app.ros_slots.status = 'PENDING';
  select array_agg(s.slot_number order by s.slot_number) into v_skipped
    from app.ros_slots s join unnest(v_slots) q using (slot_number)
   where s.declaration_id = v_id and s.status <> 'PENDING';

  perform app.require_single_slot_rule(v_id);
  v_after := app.declaration_json(v_id);
  perform app.audit('queue_distribution', jsonb_build_object('distribution_date', p_distribution_date),
    v_before, v_after);
  return v_after || jsonb_build_object('created', v_created,
    'untouched_slots', coalesce(to_jsonb(v_skipped), '[]'::jsonb));
end
$$;
comment on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text) is
  'Admin (aal2) or service: creates the day''s ROS declaration or merges into it: new slots are '
  'added, PENDING ones updated, COMPLETED/FAILED/CANCELLED ones kept. PT409 while a slot executes; '
  'PT400 for invalid slots or more than one slot with multi_slot_enabled = false. Returns the '
  'declaration plus "created".';
revoke all on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text) from public;
grant execute on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text)
  to authenticated, service_role;

create or replace function public.admin_add_slots(p_distribution_date date, p_slots jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_before jsonb;
  v_after jsonb;
  v_dup int;
  v_slots app.slot_input[];
begin
  perform app.require_admin(true);
  v_id := app.lock_declaration(p_distribution_date, true);
  v_slots := array(select p from app.parse_slots(p_distribution_date, p_slots) p);
  select q.slot_number into v_dup from unnest(v_slots) q
    join app.ros_slots s on s.declaration_id = v_id and s.slot_number = q.slot_number limit 1;
  if v_dup is not null then
    perform app.fail('PT400', format('slot %s already exists on %s', v_dup, p_distribution_date),
      'use admin_update_slot to change a PENDING slot');
  end if;
  v_before := app.declaration_json(v_id);
  insert into app.ros_slots (declaration_id, distribution_date, slot_number, ros_percentage, scheduled_for)
  select v_id, p_distribution_date, q.slot_number, q.ros_percentage, q.scheduled_for from unnest(v_slots) q;
  update app.ros_declarations set updated_at = now() where id = v_id;
  perform app.require_single_slot_rule(v_id);
  v_after := app.declaration_json(v_id);
  perform app.audit('add_slots', jsonb_build_object('distribution_date', p_distribution_date), v_before, v_after);
  return v_after;
end
$$;
comment on function public.admin_add_slots(date, jsonb) is
  'Admin (aal2) or service: adds new slots to an existing declaration. PT404 without a declaration, '
  'PT409 while a slot executes, PT400 if a slot number already exists.';
revoke all on function public.admin_add_slots(date, jsonb) from public;
grant execute on function public.admin_add_slots(date, jsonb) to authenticated, service_role;

-- The slot a single-slot admin action works on, locked, or PT404.
create or replace function app.locked_slot(p_date date, p_slot_number int)
returns app.ros_slots
language plpgsql
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
begin
  perform app.lock_declaration(p_date, true);
  select * into v_slot from app.ros_slots where distribution_date = p_date and slot_number = p_slot_number;
  if v_slot.id is null then
    perform app.fail('PT404', format('no slot %s on %s', p_slot_number, p_date));
  end if;
  return v_slot;
end
$$;

-- The slot, locked, for an action only a PENDING slot allows (p_action completes "only PENDING
-- slots can ..."): PT404 if there is none, PT409 naming its status otherwise. Slots that ran are
-- history (admin_retry_slot compensates them) and CANCELLED ones never run.
create or replace function app.locked_pending_slot(p_date date, p_slot_number int, p_action text,
                                                   p_hint text default null)
returns app.ros_slots
language plpgsql
set search_path = ''
as $$
declare
  v_slot app.ros_slots := app.locked_slot(p_date, p_slot_number);
begin
  if v_slot.status <> 'PENDING' then
    perform app.fail('PT409', format('slot %s is %s: only PENDING slots can %s', p_slot_number, v_slot.status,
      p_action), p_hint);
  end if;
  return v_slot;
end
$$;

create or replace function public.admin_update_slot(
  p_distribution_date date,
  p_slot_number int,
  p_ros_percentage numeric default null,
  p_scheduled_for timestamptz default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
  v_new app.ros_slots;
begin
  perform app.require_admin(true);
  v_slot := app.locked_pending_slot(p_distribution_date, p_slot_number, 'change',
    'use admin_retry_slot to compensate a FAILED or COMPLETED slot');
  perform app.parse_slots(p_distribution_date, jsonb_build_array(jsonb_build_object(
    'slot_number', p_slot_number,
    'ros_percentage', coalesce(p_ros_percentage, v_slot.ros_percentage),
    'scheduled_for', coalesce(p_scheduled_for, v_slot.scheduled_for))));
  update app.ros_slots
     set ros_percentage = coalesce(p_ros_percentage, ros_percentage),
         scheduled_for = coalesce(p_scheduled_for, scheduled_for),
         updated_at = now()
   where id = v_slot.id
  returning * into v_new;
  perform app.audit('update_slot', jsonb_build_object('distribution_date', p_distribution_date,
    'slot_number', p_slot_number), app.slot_json(v_slot), app.slot_json(v_new));
  return app.slot_json(v_new);
end
$$;
comment on function public.admin_update_slot(date, int, numeric, timestamptz) is
  'Admin (aal2) or service: changes a PENDING slot''s percentage and/or time (null keeps the value). '
  'PT409 for any other status, PT404 if the slot does not exist.';
revoke all on function public.admin_update_slot(date, int, numeric, timestamptz) from public;
grant execute on function public.admin_update_slot(date, int, numeric, timestamptz) to authenticated, service_role;

create or replace function public.admin_cancel_slot(p_distribution_date date, p_slot_number int)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
  v_new app.ros_slots;
begin
  perform app.require_admin(true);
  v_slot := app.locked_pending_slot(p_distribution_date, p_slot_number, 'be cancelled');
  update app.ros_slots set status = 'CANCELLED', updated_at = now() where id = v_slot.id returning * into v_new;
  perform app.audit('cancel_slot', jsonb_build_object('distribution_date', p_distribution_date,
    'slot_number', p_slot_number), app.slot_json(v_slot), app.slot_json(v_new));
  return app.slot_json(v_new);
end
$$;
comment on function public.admin_cancel_slot(date, int) is
  'Admin (aal2) or service: cancels a PENDING slot (it will never pay). PT409 for any other status.';
revoke all on function public.admin_cancel_slot(date, int) from public;
grant execute on function public.admin_cancel_slot(date, int) to authenticated, service_role;

-- admin_retry_slot waits at most 5 s for the executor lock (the dashboard's call runs under the
-- 8 s timeout of `authenticated`), then answers PT409 ("slots are executing"). It pays the
-- compensation in parts within the call's budget (app.ros_call_budget: 4 s under 8 s) and hands
-- what remains to the executor: the slot stays EXECUTING, the answer says `queued: true`, and the
-- next execute_due_slots continues it before any new slot.
create or replace function public.admin_retry_slot(p_distribution_date date, p_slot_number int)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
  v_new app.ros_slots;
  v_answer jsonb;
  v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
begin
  perform app.require_admin(true);
  -- Same executor lock as execute_due_slots: never two payers over the same wallets at once.
  -- The bound is for this wait only: the payment itself must not fail on a short row-lock wait.
  perform pg_catalog.set_config('lock_timeout', '5s', true);
  begin
    perform app.lock_ros_executor(true);
  exception when lock_not_available then
    perform app.fail('PT409', 'slots are executing right now',
      'retry in a few seconds: the executor pays in parts of a few seconds each');
  end;
  perform pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
  v_slot := app.locked_slot(p_distribution_date, p_slot_number);
  if v_slot.status not in ('FAILED', 'COMPLETED') then
    perform app.fail('PT409', format('slot %s is %s: only FAILED or COMPLETED slots can be retried',
      p_slot_number, v_slot.status), 'PENDING slots run on schedule; CANCELLED slots never pay');
  end if;
  -- A new run from the first stake; its counts add to the slot's.
  update app.ros_slots
     set status = 'EXECUTING', runs = runs + 1, part_after = null, updated_at = pg_catalog.now()
   where id = v_slot.id;
  perform app.pay_slot_parts(null, v_slot.id);
  select * into v_new from app.ros_slots where id = v_slot.id;
  v_answer := app.slot_json(v_new) || jsonb_build_object(
    'paid_now', v_new.users_processed - v_slot.users_processed,
    'queued', v_new.status = 'EXECUTING');
  perform app.audit('retry_slot', jsonb_build_object('distribution_date', p_distribution_date,
    'slot_number', p_slot_number), app.slot_json(v_slot), v_answer);
  return v_answer;
end
$$;
comment on function public.admin_retry_slot(date, int) is
  'Admin (aal2) or service: compensation for a FAILED or COMPLETED slot. Pays exactly the stakes '
  'eligible at scheduled_for, active now, with no payout for this slot; returns the slot plus '
  'paid_now (paid by this call; a second call pays 0) and queued (true when the call''s budget '
  'could not pay it all: the slot stays EXECUTING and the executor pays the rest). PT409 for '
  'PENDING, EXECUTING or CANCELLED slots, and when slots are still executing after 5 s.';
revoke all on function public.admin_retry_slot(date, int) from public;
grant execute on function public.admin_retry_slot(date, int) to authenticated, service_role;

create or replace function public.admin_distribution_status(p_distribution_date date)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_id bigint;
begin
  perform app.require_admin(false);
  select id into v_id from app.ros_declarations where distribution_date = p_distribution_date;
  if v_id is null then
    perform app.fail('PT404', 'no distribution declared for ' || coalesce(p_distribution_date::text, 'null'));
  end if;
  return app.declaration_json(v_id);
end
$$;
comment on function public.admin_distribution_status(date) is
  'Admin or service: the day''s declaration with its derived status and slots. PT404 if none.';
revoke all on function public.admin_distribution_status(date) from public;
grant execute on function public.admin_distribution_status(date) to authenticated, service_role;

create or replace function public.admin_distribution_history(p_from date, p_to date)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  if p_from is null or p_to is null or p_from > p_to then
    perform app.fail('PT400', 'p_from and p_to are required and p_from <= p_to');
  end if;
  if p_to - p_from > 366 then
    perform app.fail('PT400', 'at most 366 days per request');
  end if;
  return coalesce((
    select jsonb_agg(app.declaration_json(d.id) order by d.distribution_date)
      from app.ros_declarations d
     where d.distribution_date between p_from and p_to), '[]'::jsonb);
end
$$;
comment on function public.admin_distribution_history(date, date) is
  'Admin or service: the declarations between p_from and p_to (inclusive), oldest first.';
revoke all on function public.admin_distribution_history(date, date) from public;
grant execute on function public.admin_distribution_history(date, date) to authenticated, service_role;
