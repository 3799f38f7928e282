-- One pg_cron job runs every due slot (F5: no per-slot cron patterns to get wrong). pg_cron 1.4
-- (the local stack) accepts minute schedules only; hosted Supabase (pg_cron 1.6) can run it every
-- few seconds: select cron.schedule('ros-execute-due-slots', '10 seconds', ...).
select cron.schedule('ros-execute-due-slots', '* * * * *', 'select public.execute_due_slots()');
