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
    -- The open alerts the alert job recorded (18_operator_alerts.sql), by kind.
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

-- One page of the distribution report of a tokenization, keyset-paged by investor (p_after: the
-- last user_id of the previous page), with the tokenization's totals first. p_filter: all,
-- discrepancies (holdings differ from what was distributed) or waiting (paid, not yet sent).
-- Bounded at any size: a page reads at most p_limit investors by index, the totals one pass over
-- the tokenization's holdings and investments.
create or replace function public.admin_distribution_report_page(p_tokenization_id uuid,
  p_limit int default 100, p_after uuid default null, p_filter text default 'all',
  p_user_id uuid default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_rows jsonb;
begin
  perform app.require_admin(false);
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform app.fail('PT400', 'p_limit must be between 1 and 1000');
  end if;
  if p_filter is null or p_filter not in ('all', 'discrepancies', 'waiting') then
    perform app.fail('PT400', 'p_filter must be all, discrepancies or waiting');
  end if;
  if not exists (select 1 from app.tokenizations where id = p_tokenization_id) then
    perform app.fail('PT404', 'no such tokenization');
  end if;
  with investors as (
    select user_id from app.token_holdings where tokenization_id = p_tokenization_id
    union
    select user_id from app.investments where tokenization_id = p_tokenization_id
       and payment_status in ('confirmed', 'distributing', 'tokens_distributed')
  ), rows as (
    select v.user_id,
           coalesce(sum(i.tokens) filter (where i.payment_status = 'tokens_distributed'), 0) as distributed,
           coalesce((select h.balance from app.token_holdings h
                      where h.user_id = v.user_id and h.tokenization_id = p_tokenization_id), 0) as holdings,
           coalesce(sum(i.tokens) filter (where i.payment_status = 'distributing'), 0) as in_flight,
           coalesce(sum(i.tokens) filter (where i.payment_status = 'confirmed'), 0) as waiting
      from investors v
      left join app.investments i on i.user_id = v.user_id and i.tokenization_id = p_tokenization_id
     where (p_after is null or v.user_id > p_after) and (p_user_id is null or v.user_id = p_user_id)
     group by v.user_id
  ), page as (
    select * from rows r
     where p_filter = 'all' or (p_filter = 'discrepancies' and r.distributed <> r.holdings)
        or (p_filter = 'waiting' and r.waiting > 0)
     order by r.user_id
     limit p_limit
  )
  select coalesce(jsonb_agg(jsonb_build_object('user_id', p.user_id, 'distributed', p.distributed::text,
           'holdings', p.holdings::text, 'in_flight', p.in_flight::text, 'waiting', p.waiting::text,
           'discrepancy', p.distributed <> p.holdings) order by p.user_id), '[]'::jsonb)
    into v_rows from page p;
  return jsonb_build_object(
    'tokenization_id', p_tokenization_id,
    'rows', v_rows,
    'next_after', case when jsonb_array_length(v_rows) = p_limit
                       then v_rows -> (p_limit - 1) ->> 'user_id' end,
    'totals', (
      select jsonb_build_object('holdings', coalesce(sum(h.balance), 0)::text,
               'holders', count(*) filter (where h.balance > 0))
        from app.token_holdings h where h.tokenization_id = p_tokenization_id)
      || (select jsonb_build_object(
               'distributed', coalesce(sum(i.tokens) filter (where i.payment_status = 'tokens_distributed'), 0)::text,
               'in_flight', coalesce(sum(i.tokens) filter (where i.payment_status = 'distributing'), 0)::text,
               'waiting', coalesce(sum(i.tokens) filter (where i.payment_status = 'confirmed'), 0)::text,
               'waiting_investments', count(*) filter (where i.payment_status = 'confirmed'))
            from app.investments i where i.tokenization_id = p_tokenization_id)
      || jsonb_build_object('discrepancies', (
            select count(*) from (
              select h.user_id from app.token_holdings h
               where h.tokenization_id = p_tokenization_id
                 and h.balance <> coalesce((select sum(i.tokens) from app.investments i
                                             where i.user_id = h.user_id and i.tokenization_id = p_tokenization_id
                                               and i.payment_status = 'tokens_distributed'), 0)) d)));
end
$$;
comment on function public.admin_distribution_report_page(uuid, int, uuid, text, uuid) is
  'Admin or service: one page of a tokenization''s distribution report, keyset-paged by investor: '
  '{tokenization_id, rows [{user_id, distributed, holdings, in_flight, waiting, discrepancy}], '
  'next_after (pass it as p_after for the next page; null on the last), totals {holdings, holders, '
  'distributed, in_flight, waiting, waiting_investments, discrepancies}}. p_limit 1-1000, p_filter '
  'all | discrepancies | waiting, p_user_id one investor. PT400 bad limit or filter, PT404 unknown '
  'tokenization.';
revoke all on function public.admin_distribution_report_page(uuid, int, uuid, text, uuid) from public;
grant execute on function public.admin_distribution_report_page(uuid, int, uuid, text, uuid)
  to authenticated, service_role;
