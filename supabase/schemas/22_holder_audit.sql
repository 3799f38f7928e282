-- The chain audit: each reconciler run's record, the holders it audited (a page per run from a
-- stored cursor) and the discrepancies between the chain's balances and the books. A holder's
-- discrepancy stands until a later run audits that holder again.

create table app.reconciliation_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default now(),
  summary jsonb not null,
  -- The holders its audit covered ({from, through, pass_complete}); null: a run recorded without
  -- a range, whose discrepancies all stand as the latest run's.
  audit jsonb
);
alter table app.reconciliation_runs enable row level security;

create table app.token_discrepancies (
  id bigint generated always as identity primary key,
  run_id bigint not null references app.reconciliation_runs (id),
  kind text not null,
  user_id uuid,
  tokenization_id uuid,
  detail jsonb not null,
  created_at timestamptz not null default now()
);
create index token_discrepancies_run on app.token_discrepancies (run_id);
alter table app.token_discrepancies enable row level security;

-- The audit walks every holder over successive reconciler runs, a few pages a run (the edge
-- runtime's CPU and time limits), in (user_id, tokenization_id) order from a stored cursor. A pass
-- ends when the last holder was audited; the next run starts the next pass from the first.
create table app.token_audit_cursor (
  id boolean primary key default true check (id),
  -- The last holder audited in the pass under way; null: the next run starts a pass.
  after_user_id uuid,
  after_tokenization_id uuid,
  pass_started_at timestamptz,
  pass_audited bigint not null default 0,
  last_pass_completed_at timestamptz,
  last_pass_holders bigint
);
alter table app.token_audit_cursor enable row level security;

-- Each holder's latest audit: the run that last compared it, and whether that run found it
-- inconsistent. A holder's discrepancy stands until a later run audits the holder again.
create table app.holder_audits (
  user_id uuid not null,
  tokenization_id uuid not null,
  run_id bigint not null references app.reconciliation_runs (id),
  discrepant boolean not null,
  primary key (user_id, tokenization_id)
);
create index holder_audits_discrepant on app.holder_audits (run_id) where discrepant;
alter table app.holder_audits enable row level security;

-- The discrepancy kinds found per holder; the others (treasury_vs_books, audit_unavailable,
-- reorg_detected) are found whole by every run.
create or replace function app.holder_discrepancy_kinds()
returns text[]
language sql
immutable
set search_path = ''
as $$ select array['holdings_vs_distributed', 'chain_vs_holdings'] $$;

-- The discrepancies that stand now: a holder's from the run that audited the holder last, the
-- others (and all of a latest run recorded without an audit range) from the latest run. Every
-- reader of "open discrepancies" reads them here.
create or replace function app.current_discrepancies()
returns setof app.token_discrepancies
language sql
stable
set search_path = ''
as $$
  select d.* from app.token_discrepancies d
    join app.reconciliation_runs r on r.id = d.run_id
   where d.run_id = (select max(r.id) from app.reconciliation_runs r)
     and (d.kind <> all (app.holder_discrepancy_kinds()) or r.audit is null)
  union all
  select d.* from app.holder_audits a
    join app.token_discrepancies d
      on d.run_id = a.run_id and d.user_id = a.user_id and d.tokenization_id = a.tokenization_id
   where a.discrepant and d.kind = any (app.holder_discrepancy_kinds())
$$;

-- What the audit compares on chain: a page of holders (the wallet and the books), and per token
-- what the treasury should still hold.
create or replace function public.token_audit_targets(p_limit int default 1000, p_after jsonb default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_cursor app.token_audit_cursor;
  v_after_user uuid;
  v_after_tokenization uuid;
  v_holders jsonb;
  v_last jsonb;
begin
  perform app.require_service('only the service role audits');
  if p_limit is null or p_limit < 1 or p_limit > 5000 then
    perform app.fail('PT400', 'p_limit must be 1-5000');
  end if;
  select * into v_cursor from app.token_audit_cursor where id;
  if p_after is null then
    v_after_user := v_cursor.after_user_id;
    v_after_tokenization := v_cursor.after_tokenization_id;
  elsif jsonb_typeof(p_after) <> 'object' or not (p_after ?& array['user_id', 'tokenization_id']) then
    perform app.fail('PT400', 'p_after must be {user_id, tokenization_id} (next_after of a page)');
  else
    v_after_user := app.require_uuid(p_after ->> 'user_id', 'p_after.user_id');
    v_after_tokenization := app.require_uuid(p_after ->> 'tokenization_id', 'p_after.tokenization_id');
  end if;
  with page as (
    select h.user_id, h.tokenization_id, h.balance
      from app.token_holdings h
     where v_after_user is null or (h.user_id, h.tokenization_id) > (v_after_user, v_after_tokenization)
     order by h.user_id, h.tokenization_id
     limit p_limit
  )
  select jsonb_agg(jsonb_build_object(
           'user_id', h.user_id, 'tokenization_id', h.tokenization_id, 'wallet_address', p.wallet_address,
           'token_address', t.token_address, 'chain_id', t.chain_id, 'holdings', h.balance::text,
           'distributed', coalesce((select sum(i.tokens) from app.investments i where i.user_id = h.user_id
              and i.tokenization_id = h.tokenization_id and i.payment_status = 'tokens_distributed'), 0)::text,
           -- Signed or broadcast transfers may be mined before they are confirmed here.
           'in_flight', coalesce((select sum(x.amount) from app.token_transfers x where x.user_id = h.user_id
              and x.tokenization_id = h.tokenization_id and x.status = any (app.live_transfer_statuses())
              and x.status <> 'planned'), 0)::text)
           order by h.user_id, h.tokenization_id),
         (array_agg(jsonb_build_object('user_id', h.user_id, 'tokenization_id', h.tokenization_id)
           order by h.user_id desc, h.tokenization_id desc))[1]
    into v_holders, v_last
    from page h
    join app.tokenizations t on t.id = h.tokenization_id
    join app.profiles p on p.user_id = h.user_id;
  return jsonb_build_object(
    'holders', coalesce(v_holders, '[]'::jsonb),
    -- null after the last holder: the pass ends with this page.
    'next_after', case when jsonb_array_length(coalesce(v_holders, '[]'::jsonb)) = p_limit then v_last end,
    'from', case when v_after_user is not null
                 then jsonb_build_object('user_id', v_after_user, 'tokenization_id', v_after_tokenization) end,
    'tokens', coalesce((
      select jsonb_agg(jsonb_build_object(
               'tokenization_id', t.id, 'token_address', t.token_address, 'chain_id', t.chain_id,
               'holdings_total', coalesce((select sum(h.balance) from app.token_holdings h
                                            where h.tokenization_id = t.id), 0)::text,
               'in_flight_total', coalesce((select sum(x.amount) from app.token_transfers x
                                             where x.tokenization_id = t.id and x.status = any (app.live_transfer_statuses())
                                               and x.status <> 'planned'), 0)::text))
        from app.tokenizations t), '[]'::jsonb),
    'pass', app.audit_progress());
end
$$;
comment on function public.token_audit_targets(int, jsonb) is
  'Service: a page of at most p_limit (1-5000) holders, in (user_id, tokenization_id) order after '
  'p_after or, without it, after the stored audit cursor, with their wallets and books; '
  'next_after (the last holder; null when the pass ends with this page), from (where the page '
  'started), the per-token totals the treasury is compared with, and pass (the audit''s progress).';
revoke all on function public.token_audit_targets(int, jsonb) from public;
grant execute on function public.token_audit_targets(int, jsonb) to service_role;

-- The audit's progress: how far the pass under way is, and when the last one ended.
create or replace function app.audit_progress()
returns jsonb
language sql
stable
set search_path = ''
as $$
  select jsonb_build_object(
    'started_at', c.pass_started_at,
    'audited', coalesce(c.pass_audited, 0),
    'holders', (select count(*) from app.token_holdings),
    'last_completed_at', c.last_pass_completed_at,
    'last_pass_holders', c.last_pass_holders)
    from (select 1) one left join app.token_audit_cursor c on c.id
$$;

create or replace function public.record_reconciliation_run(p_summary jsonb, p_discrepancies jsonb,
  p_audit jsonb default null)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_run bigint;
  v_from_user uuid;
  v_from_tokenization uuid;
  v_through_user uuid;
  v_through_tokenization uuid;
  v_count bigint;
  v_complete boolean;
begin
  perform app.require_service('only the service role records reconciliation runs');
  if p_audit is not null and (jsonb_typeof(p_audit) <> 'object'
     or coalesce(jsonb_typeof(p_audit -> 'through'), '') not in ('object', 'null')
     or coalesce(jsonb_typeof(p_audit -> 'pass_complete'), '') <> 'boolean') then
    perform app.fail('PT400', 'p_audit must be {from, through, pass_complete} of the pages audited');
  end if;
  insert into app.reconciliation_runs (summary, audit) values (coalesce(p_summary, '{}'::jsonb), p_audit)
  returning id into v_run;
  insert into app.token_discrepancies (run_id, kind, user_id, tokenization_id, detail)
  select v_run, coalesce(d ->> 'kind', 'unknown'), (d ->> 'user_id')::uuid, (d ->> 'tokenization_id')::uuid, d
    from jsonb_array_elements(coalesce(p_discrepancies, '[]'::jsonb)) d;
  if p_audit is null then
    return v_run;
  end if;
  v_complete := (p_audit ->> 'pass_complete')::boolean;
  if jsonb_typeof(p_audit -> 'through') = 'object' then
    v_from_user := app.require_uuid(p_audit #>> '{from,user_id}', 'p_audit.from.user_id', false);
    v_from_tokenization := app.require_uuid(p_audit #>> '{from,tokenization_id}', 'p_audit.from.tokenization_id', false);
    v_through_user := app.require_uuid(p_audit #>> '{through,user_id}', 'p_audit.through.user_id');
    v_through_tokenization := app.require_uuid(p_audit #>> '{through,tokenization_id}', 'p_audit.through.tokenization_id');
    -- Every holder in (from, through] was compared by this run: its latest audit is this one.
    insert into app.holder_audits (user_id, tokenization_id, run_id, discrepant)
    select h.user_id, h.tokenization_id, v_run,
           exists (select 1 from app.token_discrepancies d where d.run_id = v_run and d.user_id = h.user_id
                     and d.tokenization_id = h.tokenization_id and d.kind = any (app.holder_discrepancy_kinds()))
      from app.token_holdings h
     where (v_from_user is null or (h.user_id, h.tokenization_id) > (v_from_user, v_from_tokenization))
       and (h.user_id, h.tokenization_id) <= (v_through_user, v_through_tokenization)
       -- A holder of a token this run could not read was not compared: its last audit stands.
       and not exists (select 1 from app.token_discrepancies d where d.run_id = v_run
                         and d.kind = 'audit_unavailable' and d.tokenization_id = h.tokenization_id)
    on conflict (user_id, tokenization_id) do update
       set run_id = excluded.run_id, discrepant = excluded.discrepant
     where app.holder_audits.run_id < excluded.run_id;
    get diagnostics v_count = row_count;
  end if;
  v_count := coalesce(v_count, 0);
  -- The cursor moves forward only (two runs at once audit the same page; the later one ends it).
  insert into app.token_audit_cursor (id) values (true) on conflict do nothing;
  update app.token_audit_cursor c
     set after_user_id = case when v_complete then null else v_through_user end,
         after_tokenization_id = case when v_complete then null else v_through_tokenization end,
         pass_started_at = case when v_complete then null
                                else coalesce(c.pass_started_at, now()) end,
         pass_audited = case when v_complete then 0 else c.pass_audited + v_count end,
         last_pass_completed_at = case when v_complete then now()
                                       else c.last_pass_completed_at end,
         last_pass_holders = case when v_complete then c.pass_audited + v_count
                                  else c.last_pass_holders end
   where c.id
     and (v_complete
          or (v_through_user is not null and (c.after_user_id is null
              or (c.after_user_id, c.after_tokenization_id) < (v_through_user, v_through_tokenization))));
  return v_run;
end
$$;
comment on function public.record_reconciliation_run(jsonb, jsonb, jsonb) is
  'Service: stores a reconciliation run''s counts and the discrepancies it found; with p_audit '
  '{from, through, pass_complete} (the holders its audit pages covered: after from, through '
  'through) it records each of those holders as audited by this run and moves the audit cursor '
  '(back to the first holder when the pass is complete). Returns the run id.';
revoke all on function public.record_reconciliation_run(jsonb, jsonb, jsonb) from public;
grant execute on function public.record_reconciliation_run(jsonb, jsonb, jsonb) to service_role;
