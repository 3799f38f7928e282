-- admin_retry_slot waited without limit for the executor lock. While slots pay (a million stakes
-- take ~20 s), the dashboard's call then died on PostgREST's statement timeout (8 s for
-- `authenticated`) with a bare 500-class error. It now waits at most 5 s, then answers PT409
-- ("slots are executing"), which the contract gives for EXECUTING, and the admin retries later.
create or replace function public.admin_retry_slot(p_distribution_date date, p_slot_number int)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slot app.ros_slots;
  v_new app.ros_slots;
  v_paid int;
  v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
begin
  perform app.require_admin(true);
  -- Same executor lock as execute_due_slots: never two payers over the same wallets at once.
  -- The bound is for this wait only: the payment itself must not fail on a short row-lock wait.
  perform pg_catalog.set_config('lock_timeout', '5s', true);
  begin
    perform pg_catalog.pg_advisory_xact_lock(7301, 0);
  exception when lock_not_available then
    perform app.fail('PT409', 'slots are executing right now',
      'retry when they have finished; a slot over a million stakes takes about 20 seconds');
  end;
  perform pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
  v_slot := app.locked_slot(p_distribution_date, p_slot_number);
  if v_slot.status not in ('FAILED', 'COMPLETED') then
    perform app.fail('PT409', format('slot %s is %s: only FAILED or COMPLETED slots can be retried',
      p_slot_number, v_slot.status), 'PENDING slots run on schedule; CANCELLED slots never pay');
  end if;
  v_paid := coalesce(app.run_slot(v_slot.id, true), 0);
  select * into v_new from app.ros_slots where id = v_slot.id;
  perform app.audit('retry_slot', jsonb_build_object('distribution_date', p_distribution_date,
    'slot_number', p_slot_number), app.slot_json(v_slot), app.slot_json(v_new) || jsonb_build_object('paid_now', v_paid));
  return app.slot_json(v_new) || jsonb_build_object('paid_now', v_paid);
end
$$;
comment on function public.admin_retry_slot(date, int) is
  'Admin (aal2) or service: compensation for a FAILED or COMPLETED slot. Pays exactly the stakes '
  'eligible at scheduled_for, active now, with no payout for this slot; returns the slot plus '
  'paid_now (a second call pays 0). PT409 for PENDING, EXECUTING or CANCELLED slots, and when '
  'slots are still executing after 5 s.';
