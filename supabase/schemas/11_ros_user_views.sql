-- What an investor sees of their money: transactions and today's profit.
create or replace view public.my_transactions with (security_invoker = true, security_barrier = true) as
  select 'ros:' || p.stake_id || ':' || p.distribution_date || ':' || p.slot_number as id, 'Daily ROS Payout'::text as type, p.amount, 'Completed'::text as status,
         p.created_at, p.stake_id, p.slot_number, p.distribution_date,
         'Daily ROS ' || p.distribution_date || ' slot ' || p.slot_number as description
    from app.stakes k
    join app.ros_slots sl on sl.runs > 0 and sl.scheduled_for >= k.created_at
    join app.ros_payouts p on p.distribution_date = sl.distribution_date
                          and p.slot_number = sl.slot_number and p.stake_id = k.id
   where k.user_id = auth.uid()
  union all
  select 'stake:' || s.id, 'Stake', s.amount, 'Completed', s.created_at, s.id, null, null,
         'Stake of ' || s.amount::text
    from app.stakes s
   where s.user_id = auth.uid()
  union all
  select 'funding:' || e.id, 'Wallet Funding', e.amount, 'Completed', e.created_at, null, null, null,
         t.description
    from app.ledger_entries e
    join app.ledger_transactions t on t.id = e.transaction_id and t.kind = 'funding'
    join app.accounts a on a.id = e.account_id and a.kind = 'funded'
   where a.user_id = auth.uid();
comment on view public.my_transactions is
  'The caller''s transactions: ROS payouts (type "Daily ROS Payout"), stakes and wallet funding.';
revoke all on public.my_transactions from public, anon;
grant select on public.my_transactions to authenticated;

create or replace function public.my_today_profit(p_date date default null)
returns numeric
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_date date := coalesce(p_date, app.business_today());
begin
  return coalesce((select sum(p.amount)
                     from app.stakes k
                     join app.ros_slots sl on sl.distribution_date = v_date and sl.runs > 0
                     join app.ros_payouts p on p.distribution_date = v_date
                                           and p.slot_number = sl.slot_number and p.stake_id = k.id
                    where k.user_id = v_user), 0);
end
$$;
comment on function public.my_today_profit(date) is
  'Authenticated: the sum of the caller''s ROS payouts for p_date (default: today in the business '
  'time zone); 0 when there are none.';
revoke all on function public.my_today_profit(date) from public;
grant execute on function public.my_today_profit(date) to authenticated;
