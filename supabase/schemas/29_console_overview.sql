-- The console's overview: what an operator looks at first, in one bounded read. Every figure is
-- read from an index or a bounded window (today, the last 30 days), never recounted over all
-- stakes or holders.

-- Confirmed transfers by when they became final: today's and the last 30 days' tokens.
create index token_transfers_confirmed_at on app.token_transfers (confirmed_at) where status = 'confirmed';
create or replace function public.admin_overview()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_today date := app.business_today();
  v_tz text := app.business_tz();
  v_day_start timestamptz := (v_today::timestamp at time zone v_tz);
  v_last_run timestamptz := (select r.started_at from app.reconciliation_runs r order by r.id desc limit 1);
begin
  perform app.require_admin(false);
  return jsonb_build_object(
    'today', v_today,
    'slots', coalesce((
      select jsonb_agg(jsonb_build_object('slot_number', s.slot_number,
               'status', app.slot_status(s), 'ros_percentage', s.ros_percentage,
               'scheduled_for', s.scheduled_for, 'users_processed', s.users_processed,
               'total_distributed', app.money_text(s.total_distributed)) order by s.slot_number)
        from app.ros_slots s where s.distribution_date = v_today), '[]'::jsonb),
    -- The open alerts the alert job recorded (28_operator_alerts.sql), by kind.
    'alerts', coalesce((
      select jsonb_agg(jsonb_build_object('kind', a.kind, 'count', a.n) order by a.n desc, a.kind)
        from (select kind, count(*) as n from app.alerts where resolved_at is null group by kind) a),
      '[]'::jsonb),
    'tokens', jsonb_build_object(
      'distributed_today', (select coalesce(sum(t.amount), 0)::text from app.token_transfers t
                             where t.status = 'confirmed' and t.confirmed_at >= v_day_start),
      'transfers_today', (select count(*) from app.token_transfers t
                           where t.status = 'confirmed' and t.confirmed_at >= v_day_start),
      'waiting_investments', (select count(*) from app.investments i where i.payment_status = 'confirmed'),
      'waiting_tokens', (select coalesce(sum(i.tokens), 0)::text from app.investments i
                          where i.payment_status = 'confirmed'),
      'in_flight', (select count(*) from app.token_transfers t
                     where t.status = any (app.live_transfer_statuses()))),
    'reconciliation', jsonb_build_object('last_run_at', v_last_run,
      'age_seconds', floor(extract(epoch from now() - v_last_run))),
    -- The last 30 business days: ROS paid (money) and tokens distributed, per day.
    'daily', (
      select jsonb_agg(jsonb_build_object('day', d.day,
               'ros_paid', app.money_text(coalesce(r.paid, 0)),
               'tokens_distributed', coalesce(t.tokens, 0)::text) order by d.day)
        from generate_series(v_today - 29, v_today, interval '1 day') g(day)
        cross join lateral (select g.day::date as day) d
        left join lateral (select sum(s.total_distributed) as paid from app.ros_slots s
                            where s.distribution_date = d.day) r on true
        left join lateral (
          select sum(tt.amount) as tokens from app.token_transfers tt
           where tt.status = 'confirmed'
             and tt.confirmed_at >= (d.day::timestamp at time zone v_tz)
             and tt.confirmed_at < ((d.day + 1)::timestamp at time zone v_tz)) t on true));
end
$$;
comment on function public.admin_overview() is
  'Admin or service: the console''s overview: {today, slots (today''s, with status), alerts (open, '
  'by kind, as the alert job recorded them), tokens {distributed_today, transfers_today, '
  'waiting_investments, waiting_tokens, in_flight}, reconciliation {last_run_at, age_seconds}, daily '
  '(the last 30 days: {day, ros_paid, tokens_distributed})}.';
revoke all on function public.admin_overview() from public;
grant execute on function public.admin_overview() to authenticated, service_role;

-- The tokenizations, for the console's report picker.
create or replace function public.admin_tokenizations()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  return coalesce((select jsonb_agg(jsonb_build_object('tokenization_id', t.id,
             'property_id', t.property_id, 'chain_id', t.chain_id, 'token_address', t.token_address,
             'unreadable', t.unreadable_since is not null) order by t.property_id)
      from app.tokenizations t), '[]'::jsonb);
end
$$;
comment on function public.admin_tokenizations() is
  'Admin or service: every tokenization: {tokenization_id, property_id, chain_id, token_address, unreadable}.';
revoke all on function public.admin_tokenizations() from public;
grant execute on function public.admin_tokenizations() to authenticated, service_role;

-- A distribution report cursor, read back: "<user id>" in investor order, "<amount>/<user id>" in
-- the others (both null without one); PT400 when it is not a cursor of p_order.
create or replace function app.report_cursor(p_order text, p_after text, out after_key numeric,
                                             out after_user uuid)
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_after is null then
    return;
  end if;
  if p_order = 'investor' and app.is_uuid(p_after) then
    after_user := p_after::uuid;
  elsif p_order <> 'investor' and split_part(p_after, '/', 1) ~ '^[0-9]{1,78}$'
        and app.is_uuid(substr(p_after, strpos(p_after, '/') + 1)) then
    after_key := split_part(p_after, '/', 1)::numeric;
    after_user := substr(p_after, strpos(p_after, '/') + 1)::uuid;
  else
    perform app.fail('PT400', 'p_after is not a cursor of this order');
  end if;
end
$$;

-- The one investor a report is narrowed to, given by id or by email (any case, trimmed): null for
-- none given, the nil uuid for one that is unknown, so that it matches nobody rather than everyone.
create or replace function app.report_investor(p_investor text)
returns uuid
language sql
stable
set search_path = ''
as $$
  select case
           when p_investor is null or pg_catalog.btrim(p_investor) = '' then null
           when app.is_uuid(pg_catalog.btrim(p_investor)) then pg_catalog.btrim(p_investor)::uuid
           else coalesce((select u.id from auth.users u
                           where u.email = pg_catalog.lower(pg_catalog.btrim(p_investor)) limit 1),
                         '00000000-0000-0000-0000-000000000000'::uuid)
         end
$$;

-- One page of the distribution report of a tokenization, with the tokenization's totals first.
-- p_filter: all, discrepancies (holdings differ from what was distributed) or waiting (paid, not
-- yet sent); p_investor: one investor, by id or email. p_order: investor (by id), or the largest
-- first of distributed, holdings, in_flight or waiting (ties by id). Keyset-paged: p_after is the
-- previous page's next_after, an opaque cursor of the same order.
-- Bounded at any size: one grouped pass over the tokenization's investments and holdings (hashed,
-- never a lookup per investor) feeds both the totals and the page; the page is at most p_limit
-- rows and names only its own investors.
create or replace function public.admin_distribution_report_page(p_tokenization_id uuid,
  p_limit int default 100, p_after text default null, p_filter text default 'all',
  p_investor text default null, p_order text default 'investor')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_user uuid;
  v_after_key numeric;
  v_after_user uuid;
  v_rows jsonb;
  v_totals jsonb;
begin
  perform app.require_admin(false);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform app.fail('PT400', 'p_limit must be between 1 and 1000');
  end if;
  if p_filter is null or p_filter not in ('all', 'discrepancies', 'waiting') then
    perform app.fail('PT400', 'p_filter must be all, discrepancies or waiting');
  end if;
  if p_order is null or p_order not in ('investor', 'distributed', 'holdings', 'in_flight', 'waiting') then
    perform app.fail('PT400', 'p_order must be investor, distributed, holdings, in_flight or waiting');
  end if;
  if not exists (select 1 from app.tokenizations where id = p_tokenization_id) then
    perform app.fail('PT404', 'no such tokenization');
  end if;
  select c.after_key, c.after_user into v_after_key, v_after_user from app.report_cursor(p_order, p_after) c;
  v_user := app.report_investor(p_investor);

  with sums as (
    select i.user_id,
           coalesce(sum(i.tokens) filter (where i.payment_status = 'tokens_distributed'), 0) as distributed,
           coalesce(sum(i.tokens) filter (where i.payment_status = 'distributing'), 0) as in_flight,
           coalesce(sum(i.tokens) filter (where i.payment_status = 'confirmed'), 0) as waiting,
           count(*) filter (where i.payment_status = 'confirmed') as waiting_investments
      from app.investments i
     where i.tokenization_id = p_tokenization_id
       and i.payment_status = any (app.owed_statuses())
     group by i.user_id
  ), report as materialized (
    select coalesce(s.user_id, h.user_id) as user_id,
           coalesce(s.distributed, 0) as distributed, coalesce(h.balance, 0) as holdings,
           coalesce(s.in_flight, 0) as in_flight, coalesce(s.waiting, 0) as waiting,
           coalesce(s.waiting_investments, 0) as waiting_investments
      from sums s
      full join (select hh.user_id, hh.balance from app.token_holdings hh
                  where hh.tokenization_id = p_tokenization_id) h on h.user_id = s.user_id
  ), keyed as (
    select r.*, case p_order when 'distributed' then r.distributed when 'holdings' then r.holdings
                             when 'in_flight' then r.in_flight when 'waiting' then r.waiting end as k
      from report r
     where (v_user is null or r.user_id = v_user)
       and (p_filter = 'all' or (p_filter = 'discrepancies' and r.distributed <> r.holdings)
            or (p_filter = 'waiting' and r.waiting > 0))
  ), page as (
    select * from keyed r
     where v_after_user is null
        or (p_order = 'investor' and r.user_id > v_after_user)
        or (p_order <> 'investor' and (r.k < v_after_key or (r.k = v_after_key and r.user_id > v_after_user)))
     order by r.k desc nulls last, r.user_id
     -- One more than the page: whether a next page exists (never a cursor to an empty page).
     limit p_limit + 1
  )
  select (select coalesce(jsonb_agg(jsonb_build_object('user_id', p.user_id,
                 'email', u.email,
                 'name', coalesce(u.raw_user_meta_data ->> 'full_name', u.raw_user_meta_data ->> 'name'),
                 'distributed', p.distributed::text, 'holdings', p.holdings::text,
                 'in_flight', p.in_flight::text, 'waiting', p.waiting::text,
                 'discrepancy', p.distributed <> p.holdings,
                 'cursor', case when p_order = 'investor' then p.user_id::text
                                else p.k::text || '/' || p.user_id::text end)
                 order by p.k desc nulls last, p.user_id), '[]'::jsonb)
            from page p left join auth.users u on u.id = p.user_id),
         (select jsonb_build_object(
                 'holdings', sum(r.holdings)::text, 'holders', count(*) filter (where r.holdings > 0),
                 'distributed', sum(r.distributed)::text, 'in_flight', sum(r.in_flight)::text,
                 'waiting', sum(r.waiting)::text, 'waiting_investments', sum(r.waiting_investments),
                 'discrepancies', count(*) filter (where r.distributed <> r.holdings))
            from report r)
    into v_rows, v_totals;
  return jsonb_build_object(
    'tokenization_id', p_tokenization_id,
    'order', p_order,
    'rows', (select coalesce(jsonb_agg(e - 'cursor' order by o), '[]'::jsonb)
               from jsonb_array_elements(v_rows) with ordinality as x(e, o) where o <= p_limit),
    'next_after', case when jsonb_array_length(v_rows) > p_limit
                       then v_rows -> (p_limit - 1) ->> 'cursor' end,
    'totals', v_totals);
end
$$;
comment on function public.admin_distribution_report_page(uuid, int, text, text, text, text) is
  'Admin or service: one page of a tokenization''s distribution report: {tokenization_id, order, '
  'rows [{user_id, email, name, distributed, holdings, in_flight, waiting, discrepancy}], next_after '
  '(pass it as p_after for the next page of the same order; null on the last), totals {holdings, '
  'holders, distributed, in_flight, waiting, waiting_investments, discrepancies}}. p_limit 1-1000, '
  'p_filter all | discrepancies | waiting, p_investor one investor by id or email, p_order '
  'investor | distributed | holdings | in_flight | waiting (largest first). PT400 bad limit, filter, '
  'order or cursor; PT404 unknown tokenization.';
revoke all on function public.admin_distribution_report_page(uuid, int, text, text, text, text) from public;
grant execute on function public.admin_distribution_report_page(uuid, int, text, text, text, text)
  to authenticated, service_role;

-- Who investors are, for the console's alerts: email and name (Supabase Auth's user metadata
-- full_name, else name) of at most 1,000 ids. Admins only: investors' personal data.
create or replace function public.admin_investors(p_user_ids uuid[])
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform app.require_admin(false);
  if p_user_ids is null or cardinality(p_user_ids) > 1000 then
    perform app.fail('PT400', 'p_user_ids must be an array of at most 1000 ids');
  end if;
  return coalesce((select jsonb_agg(jsonb_build_object('user_id', u.id, 'email', u.email,
             'name', coalesce(u.raw_user_meta_data ->> 'full_name', u.raw_user_meta_data ->> 'name'))
             order by u.id)
      from auth.users u where u.id = any (p_user_ids)), '[]'::jsonb);
end
$$;
comment on function public.admin_investors(uuid[]) is
  'Admin or service: [{user_id, email, name}] of the given investors (at most 1000 ids; unknown ids '
  'are left out). PT400 null or more than 1000 ids.';
revoke all on function public.admin_investors(uuid[]) from public;
grant execute on function public.admin_investors(uuid[]) to authenticated, service_role;
