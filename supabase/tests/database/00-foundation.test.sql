-- The platform layer: Supabase-compatible auth helpers, health(), deny-by-default privileges.
begin;
select plan(15);

-- auth.* read the claims exactly as Supabase's definitions do.
select set_config('request.jwt.claims',
  '{"sub":"7d1e6d1c-4a55-4d4c-9a36-1f1a8f1c0b01","role":"authenticated","aal":"aal2","app_metadata":{"role":"admin"}}',
  true);
select is(auth.uid(), '7d1e6d1c-4a55-4d4c-9a36-1f1a8f1c0b01'::uuid, 'auth.uid() reads sub from request.jwt.claims');
select is(auth.role(), 'authenticated', 'auth.role() reads role');
select is(auth.jwt() ->> 'aal', 'aal2', 'auth.jwt() exposes aal');
select is(auth.jwt() -> 'app_metadata' ->> 'role', 'admin', 'auth.jwt() exposes app_metadata');
select set_config('request.jwt.claims', '', true);
select is(auth.uid(), null, 'no claims: auth.uid() is null');

-- health() is public.
select tests.authenticate_as_anon();
select is((public.health() ->> 'ok')::boolean, true, 'anon may call health()');
select tests.clear_authentication();

-- Deny by default: a function created later is not executable by the API roles until granted.
create function public.zz_probe() returns int language sql as 'select 1';
select ok(not has_function_privilege('anon', 'public.zz_probe()', 'execute'), 'anon cannot execute a new function');
select ok(not has_function_privilege('authenticated', 'public.zz_probe()', 'execute'), 'authenticated cannot execute a new function');
select ok(not has_function_privilege('service_role', 'public.zz_probe()', 'execute'), 'service_role is granted explicitly, not by default');
select tests.authenticate_as_anon();
select throws_ok('select public.zz_probe()', '42501', null, 'anon calling an ungranted function gets 42501');
select tests.clear_authentication();

-- net.http_post only queues; delivery happens after commit (tested end to end in Deno).
select cmp_ok(net.http_post('http://127.0.0.1:9/x', '{"a":1}'::jsonb), '>', 0::bigint, 'net.http_post queues a request');
select is((select body from net.http_request_queue order by id desc limit 1), '{"a":1}'::jsonb, 'the queued body is kept');

-- A setting's default is its row: the reader never falls back to a default of its own.
select is(app.setting('auto_distribute'), 'on', 'a setting reads its row');
delete from app.settings where key = 'max_note_length';
select throws_ok($$select app.setting('max_note_length')$$, '55000',
  'setting max_note_length is missing from app.settings', 'a missing setting is an error, not a default');
select throws_ok($$select app.max_note_length()$$, '55000', null,
  'a rule that reads a missing setting fails instead of using a copy of the default');

select * from finish();
rollback;
