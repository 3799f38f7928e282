-- Stakes: funds moved from the funded wallet into an investment that earns daily ROS up to a cap.
create table app.stakes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete restrict,
  -- Where this stake's ROS is credited; kept on the stake so a slot needs no per-stake lookup.
  earnings_account_id bigint not null references app.accounts (id),
  amount numeric(20, 2) not null check (amount > 0),
  max_return_percent numeric(7, 4) not null default 200 check (max_return_percent > 0),
  total_earned numeric(20, 2) not null default 0,
  status text not null default 'active' check (status in ('active', 'completed', 'cancelled')),
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  -- The most a stake may ever earn (200 % by default), rounded down to the cent. The one place
  -- this rule lives: the payout statements read it, and the constraint below enforces it.
  cap numeric generated always as (floor(amount * max_return_percent) / 100) stored,
  -- The cap is enforced by the database itself, not only by the payout statement.
  constraint stake_within_cap check (total_earned >= 0 and total_earned <= cap)
) with (fillfactor = 50);
 -- every slot updates every active stake: room for a HOT version each
create index stakes_user on app.stakes (user_id);
create index stakes_active_created on app.stakes (created_at) where status = 'active';
alter table app.stakes enable row level security;
-- Foreign keys get an index so that checking a referenced row's deletion never scans the table.
-- The column never changes, so stake updates stay HOT.
create index stakes_earnings_account on app.stakes (earnings_account_id);
-- An investor reads their own stakes (public.my_stakes, my_transactions).
create policy stakes_owner_reads on app.stakes for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, amount, total_earned, max_return_percent, status, created_at)
  on app.stakes to authenticated;

-- Stakes end as completed or cancelled, never deleted: payouts refer to them.
create trigger stakes_permanent before delete on app.stakes
  for each row execute function app.forbid_mutation();

create or replace function public.create_stake(p_amount numeric)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_funded bigint;
  v_balance numeric;
  v_stake uuid := gen_random_uuid();
  v_max numeric := app.setting('default_max_return_percent')::numeric;
begin
  if p_amount is null then
    perform app.fail('PT400', 'p_amount is required');
  end if;
  perform app.require_money(p_amount, 'p_amount', true);
  select id, balance into v_funded, v_balance
    from app.accounts where user_id = v_user and kind = 'funded' and currency = 'NGN' for update;
  if v_funded is null then
    perform app.fail('PT404', 'no funded wallet for this user');
  end if;
  if v_balance < p_amount then
    perform app.fail('PT400', 'insufficient funds in the funded wallet',
      'fund the wallet first; available: ' || app.money_text(v_balance));
  end if;
  insert into app.stakes (id, user_id, earnings_account_id, amount, max_return_percent)
  values (v_stake, v_user, app.account_id(v_user, 'earnings'), p_amount, v_max);
  perform app.post('stake:' || v_stake, 'stake', 'Stake ' || v_stake, array[
    (v_funded, -p_amount)::app.leg,
    (app.account_id(v_user, 'staked'), p_amount)::app.leg
  ]);
  return jsonb_build_object('stake_id', v_stake, 'amount', app.money_text(p_amount), 'status', 'active',
    'max_return_percent', v_max);
end
$$;
comment on function public.create_stake(numeric) is
  'Authenticated: moves p_amount from the caller''s funded wallet into a new active stake (cap '
  '200 % by default). PT400 for amount <= 0 or insufficient funds. Returns {stake_id, amount, status}.';
revoke all on function public.create_stake(numeric) from public;
grant execute on function public.create_stake(numeric) to authenticated;

create or replace view public.my_stakes with (security_invoker = true, security_barrier = true) as
  select s.id, s.amount, s.total_earned, s.max_return_percent, s.status, s.created_at
    from app.stakes s
   where s.user_id = auth.uid();
comment on view public.my_stakes is 'The caller''s stakes; a stake that reaches its cap is completed.';
revoke all on public.my_stakes from public, anon;
grant select on public.my_stakes to authenticated;
