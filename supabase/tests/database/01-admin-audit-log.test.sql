-- admin_audit_log: the audit trail for the console, newest first, limited; admins at any aal and
-- the service read it (90-role-matrix: nobody else).
begin;
select plan(5);

select tests.create_user('audit-admin@test.io', true) as adm \gset
select tests.authenticate_as(:'adm', 'aal2');
select public.admin_set_chain_policy(90001, 1000, 10, 2);
select public.admin_set_chain_policy(90001, p_min_confirmations => 4);
select tests.authenticate_as(:'adm', 'aal1');
select is(public.admin_audit_log(2) -> 0 ->> 'action', 'set_chain_policy', 'an aal1 admin reads the newest entry');
select is((public.admin_audit_log(2) -> 0 -> 'after' ->> 'min_confirmations')::int, 4, 'with the state after');
select is((public.admin_audit_log(2) -> 0 -> 'before' ->> 'min_confirmations')::int, 2, 'and before');
select is(jsonb_array_length(public.admin_audit_log(1)), 1, 'p_limit bounds the rows');
select throws_ok($$select public.admin_audit_log(0)$$, 'PT400', null, 'a limit of 0 is PT400');
select tests.clear_authentication();

select * from finish();
rollback;
