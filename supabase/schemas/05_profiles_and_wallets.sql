-- Profiles (KYC, wallet address) and the user wallets, created for every new auth user.

-- The KYC statuses, named once: the column's check and admin_set_kyc_status both read them. Only
-- verified investors with a wallet are ever paid tokens.
-- A check reads it: see README, "Changing the database", before changing it.
create or replace function app.kyc_statuses()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['pending', 'verified', 'rejected']
$$;

create table app.profiles (
  user_id uuid primary key references auth.users (id) on delete cascade,
  kyc_status text not null default 'pending' check (kyc_status = any (app.kyc_statuses())),
  -- Stored lowercase: addresses compare case-insensitively (EIP-55 case is only a checksum).
  wallet_address app.address,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index profiles_wallet_address on app.profiles (wallet_address) where wallet_address is not null;
alter table app.profiles enable row level security;

create or replace function app.on_auth_user_created()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into app.profiles (user_id) values (new.id) on conflict do nothing;
  insert into app.accounts (user_id, kind, currency)
  select new.id, k, 'NGN' from unnest(app.wallet_kinds()) k
  on conflict do nothing;
  return new;
end
$$;
revoke all on function app.on_auth_user_created() from public;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function app.on_auth_user_created();

-- admin_set_kyc_status -------------------------------------------------------------------------
create or replace function public.admin_set_kyc_status(p_user_id uuid, p_status text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_before text;
begin
  perform app.require_admin(true);
  if p_status is null or not p_status = any (app.kyc_statuses()) then
    perform app.fail('PT400', 'p_status must be one of ' || array_to_string(app.kyc_statuses(), ', '));
  end if;
  select kyc_status into v_before from app.profiles where user_id = p_user_id for update;
  if not found then
    perform app.fail('PT404', 'no such user', 'check p_user_id');
  end if;
  update app.profiles set kyc_status = p_status, updated_at = now() where user_id = p_user_id;
  perform app.audit('set_kyc_status', jsonb_build_object('user_id', p_user_id),
    jsonb_build_object('kyc_status', v_before), jsonb_build_object('kyc_status', p_status));
  return jsonb_build_object('user_id', p_user_id, 'kyc_status', p_status, 'previous', v_before);
end
$$;
comment on function public.admin_set_kyc_status(uuid, text) is
  'Admin (aal2) or service: sets a user''s KYC status (pending | verified | rejected). Verified '
  'investors with a wallet become eligible for token distribution. Audited.';
revoke all on function public.admin_set_kyc_status(uuid, text) from public;
grant execute on function public.admin_set_kyc_status(uuid, text) to authenticated, service_role;

-- credit_funded_wallet ---------------------------------------------------------------------------
create or replace function public.credit_funded_wallet(p_user_id uuid, p_amount numeric, p_reference text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_key text := 'funding:' || coalesce(p_reference, '');
  v_account bigint;
  v_tx bigint;
  v_prev_amount numeric;
  v_prev_account bigint;
begin
  perform app.require_service('only the service role may credit wallets');
  if p_amount is null then
    perform app.fail('PT400', 'p_amount is required');
  end if;
  perform app.require_money(p_amount, 'p_amount', true);
  perform app.require_text(p_reference, 'p_reference', app.max_reference_length());
  if coalesce(btrim(p_reference), '') = '' then
    perform app.fail('PT400', 'p_reference is required: it makes the credit idempotent');
  end if;
  v_account := app.account_id(p_user_id, 'funded');
  if v_account is null then
    perform app.fail('PT404', 'no such user', 'check p_user_id');
  end if;
  v_tx := app.post(v_key, 'funding', 'Wallet funding ' || p_reference, array[
    (v_account, p_amount)::app.leg,
    (app.account_id(null, 'platform_funding_clearing'), -p_amount)::app.leg
  ]);
  if v_tx is null then
    -- Same reference again: fine if it is the same credit, a conflict if it is not.
    select e.amount, e.account_id into v_prev_amount, v_prev_account
      from app.ledger_transactions t join app.ledger_entries e on e.transaction_id = t.id and e.amount > 0
     where t.idempotency_key = v_key;
    if v_prev_account <> v_account or v_prev_amount <> p_amount then
      perform app.fail('PT409', 'reference already used for a different credit');
    end if;
  end if;
  return jsonb_build_object(
    'duplicate', v_tx is null,
    'balance', app.money_text((select balance from app.accounts where id = v_account)));
end
$$;
comment on function public.credit_funded_wallet(uuid, numeric, text) is
  'Service: credits a user''s funded wallet, idempotent per p_reference. Returns '
  '{"duplicate":bool,"balance":"…"}; PT409 if the reference was used for another amount or user.';
revoke all on function public.credit_funded_wallet(uuid, numeric, text) from public;
grant execute on function public.credit_funded_wallet(uuid, numeric, text) to service_role;

-- my_wallets -----------------------------------------------------------------------------------
create or replace view public.my_wallets with (security_invoker = true, security_barrier = true) as
  select a.kind, a.currency, a.balance
    from app.accounts a
   where a.user_id = auth.uid();
comment on view public.my_wallets is 'The caller''s wallets: funded, staked, earnings.';
revoke all on public.my_wallets from public, anon;
grant select on public.my_wallets to authenticated;
