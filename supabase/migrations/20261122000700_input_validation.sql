-- Input validation in one place (issue 9, CONTRACT "Platform fidelity"): every money, percentage,
-- whole-number, free-text and timestamp argument goes through one helper, so NaN and Infinity,
-- sub-cent money, oversized keys and zone-less times are refused (PT400) or read the same way by
-- every RPC. The RPCs below are the live bodies with their copied checks replaced by the helpers.

-- The documented input limits (README "Input limits").
insert into app.settings (key, value) values
  ('max_money', '999999999999.99'),
  ('max_reference_length', '200'),
  ('max_note_length', '2000')
on conflict (key) do nothing;

-- Money: finite, at most 2 decimals (never rounded), within max_money; positive or non-negative.
-- Null is the caller's business (optional arguments keep their meaning).
create or replace function app.require_money(p_value numeric, p_name text, p_positive boolean)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_value is null then
    return;
  end if;
  if p_value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric) then
    perform app.fail('PT400', format('%s must be a finite amount, not %s', p_name, p_value));
  end if;
  if p_value <> pg_catalog.round(p_value, 2) then
    perform app.fail('PT400', format('%s has more than 2 decimals: %s', p_name, p_value),
      'sub-cent amounts are refused, never rounded');
  end if;
  if p_positive and p_value <= 0 then
    perform app.fail('PT400', format('%s must be greater than 0', p_name));
  end if;
  if p_value < 0 then
    perform app.fail('PT400', format('%s cannot be negative', p_name));
  end if;
  if p_value > coalesce(app.setting('max_money')::numeric, 999999999999.99) then
    perform app.fail('PT400', format('%s is larger than the most one operation may move', p_name));
  end if;
end
$$;

-- A percentage: finite, greater than 0, at most 100, at most 4 decimals.
create or replace function app.require_percentage(p_value numeric, p_name text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_value is null or p_value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric)
     or p_value <= 0 or p_value > 100 then
    perform app.fail('PT400', format('%s must be greater than 0 and at most 100', p_name));
  end if;
  if p_value <> pg_catalog.round(p_value, 4) then
    perform app.fail('PT400', format('%s has at most 4 decimals', p_name));
  end if;
end
$$;

-- A whole number of base units (tokens, wei): finite, integral, within uint256.
create or replace function app.require_whole(p_value numeric, p_name text, p_positive boolean)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_value is null then
    return;
  end if;
  if p_value in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric)
     or p_value <> pg_catalog.trunc(p_value) or p_value < 0 or p_value >= 1e77 then
    perform app.fail('PT400', format('%s must be a whole, non-negative number of base units', p_name));
  end if;
  if p_positive and p_value = 0 then
    perform app.fail('PT400', format('%s must be greater than 0', p_name));
  end if;
end
$$;

-- Free-text keys and notes: at most p_max characters (keys are indexed; an index entry has a size
-- limit, so an oversized key must be refused before it reaches one).
create or replace function app.require_text(p_value text, p_name text, p_max int)
returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_value is not null and pg_catalog.length(p_value) > p_max then
    perform app.fail('PT400', format('%s is longer than %s characters', p_name, p_max));
  end if;
end
$$;

create or replace function app.max_reference_length()
returns int
language sql
stable
set search_path = ''
as $$
  select coalesce(app.setting('max_reference_length')::int, 200)
$$;

create or replace function app.max_note_length()
returns int
language sql
stable
set search_path = ''
as $$
  select coalesce(app.setting('max_note_length')::int, 2000)
$$;

-- A time given as text: an explicit offset or zone name is honoured; a time without one is read
-- in the business time zone. Only calendar timestamps: 'now', 'today', 'epoch' and 'infinity'
-- are refused, so a typo can never schedule something for "now".
create or replace function app.business_time(p_value text, p_name text)
returns timestamptz
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_saved text := pg_catalog.current_setting('TimeZone');
  v_at timestamptz;
begin
  if p_value is null then
    return null;
  end if;
  if p_value !~ '^\s*\d{4}-\d{2}-\d{2}' then
    perform app.fail('PT400', format('%s must be a timestamp such as 2026-11-21T12:56:00+01:00: %s',
      p_name, pg_catalog.left(p_value, 100)));
  end if;
  perform pg_catalog.set_config('TimeZone', app.business_tz(), true);
  begin
    v_at := p_value::timestamptz;
  exception when others then
    perform pg_catalog.set_config('TimeZone', v_saved, true);
    perform app.fail('PT400', format('%s is not a valid timestamp: %s', p_name,
      pg_catalog.left(p_value, 100)));
  end;
  perform pg_catalog.set_config('TimeZone', v_saved, true);
  return v_at;
end
$$;

-- Timestamp parameters (admin_update_slot's p_scheduled_for, execute_due_slots' p_now) are
-- converted by PostgREST before the function runs, in the session's time zone. PostgREST applies
-- the impersonated roles' own settings to every request, so the API roles read offset-less times in
-- the business time zone too; re-run this after changing business_time_zone.
create or replace function app.apply_business_tz_to_api_roles()
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_role text;
begin
  foreach v_role in array array['anon', 'authenticated', 'service_role'] loop
    execute pg_catalog.format('alter role %I set timezone = %L', v_role, app.business_tz());
  end loop;
end
$$;
select app.apply_business_tz_to_api_roles();

-- The treasury's addresses, so that nobody can name one as their payout wallet. Every signer that
-- ever claimed a nonce is one; the stack (or an operator) registers it before the first claim.
create table app.treasury_accounts (
  address text primary key check (address ~ '^0x[0-9a-f]{40}$'),
  created_at timestamptz not null default now()
);
alter table app.treasury_accounts enable row level security;
insert into app.treasury_accounts (address)
select distinct signer from app.treasury_nonces
on conflict do nothing;

create or replace function app.remember_treasury_signer()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into app.treasury_accounts (address) values (new.signer) on conflict do nothing;
  return new;
end
$$;
create trigger treasury_nonces_remember_signer after insert on app.treasury_nonces
  for each row execute function app.remember_treasury_signer();

create or replace function public.register_treasury_address(p_address text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_addr text := lower(btrim(coalesce(p_address, '')));
begin
  perform app.require_service('only the service role registers the treasury');
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_address must be 0x followed by 40 hex digits');
  end if;
  insert into app.treasury_accounts (address) values (v_addr) on conflict do nothing;
  return jsonb_build_object('address', v_addr,
    'wallets_using_it', (select count(*) from app.profiles where wallet_address = v_addr));
end
$$;
comment on function public.register_treasury_address(text) is
  'Service: records a treasury (signer) address so no investor can name it as a payout wallet. '
  'Returns {address, wallets_using_it}; a non-zero count needs a person.';
revoke all on function public.register_treasury_address(text) from public;
grant execute on function public.register_treasury_address(text) to service_role;

-- An address that must never receive payouts: the zero address, a treasury, a token contract.
create or replace function app.is_protected_address(p_address text)
returns boolean
language sql
stable
set search_path = ''
as $$
  select p_address = '0x0000000000000000000000000000000000000000'
      or exists (select 1 from app.treasury_accounts where address = p_address)
      or exists (select 1 from app.treasury_nonces where signer = p_address)
      or exists (select 1 from app.tokenizations where token_address = p_address)
$$;

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
  v_max numeric := coalesce(app.setting('default_max_return_percent')::numeric, 200);
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

create or replace function public.set_my_wallet_address(p_address text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_addr text := lower(btrim(coalesce(p_address, '')));
begin
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'wallet address must be 0x followed by 40 hex digits');
  end if;
  if app.is_protected_address(v_addr) then
    perform app.fail('PT400', 'this address cannot receive payouts (the zero address, a treasury or a token contract)',
      'use a wallet you control');
  end if;
  if exists (select 1 from app.profiles where wallet_address = v_addr and user_id <> v_user) then
    perform app.fail('PT409', 'this wallet address belongs to another account');
  end if;
  update app.profiles set wallet_address = v_addr, updated_at = now() where user_id = v_user;
  if not found then
    perform app.fail('PT404', 'no profile for this user');
  end if;
  return jsonb_build_object('wallet_address', v_addr);
end
$$;
comment on function public.set_my_wallet_address(text) is
  'Authenticated: sets the caller''s payout wallet (0x + 40 hex digits, compared case-insensitively; '
  'stored lowercase). PT400 when malformed or the zero, a treasury or a token contract address, PT409 when another account uses it.';
revoke all on function public.set_my_wallet_address(text) from public;
grant execute on function public.set_my_wallet_address(text) to authenticated;

create or replace function app.parse_slots(p_date date, p_slots jsonb)
returns setof app.slot_input
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_tz text := app.business_tz();
  v_elem jsonb;
  v_num int;
  v_pct numeric;
  v_at timestamptz;
  v_raw text;
  v_seen int[] := '{}';
begin
  if p_date is null then
    perform app.fail('PT400', 'p_distribution_date is required');
  end if;
  if p_slots is null or jsonb_typeof(p_slots) <> 'array' or jsonb_array_length(p_slots) = 0 then
    perform app.fail('PT400', 'p_slots must be a non-empty JSON array of slots',
      'e.g. [{"slot_number":1,"ros_percentage":1,"scheduled_for":"2026-11-21T12:56:00+01:00"}]');
  end if;
  if jsonb_array_length(p_slots) > 100 then
    perform app.fail('PT400', 'at most 100 slots per day');
  end if;
  for v_elem in select e from jsonb_array_elements(p_slots) e loop
    begin
      if jsonb_typeof(v_elem) <> 'object' then
        raise exception using errcode = '22023';
      end if;
      v_num := (v_elem ->> 'slot_number')::int;
      v_pct := (v_elem ->> 'ros_percentage')::numeric;
      v_raw := v_elem ->> 'scheduled_for';
      v_at := app.business_time(v_raw, 'scheduled_for');
    exception when others then
      perform app.fail('PT400', 'malformed slot: ' || v_elem::text,
        'each slot needs slot_number (integer), ros_percentage (number) and scheduled_for (timestamp)');
    end;
    if v_num is null or v_num < 1 or v_num > 100 then
      perform app.fail('PT400', 'slot_number must be between 1 and 100: ' || v_elem::text);
    end if;
    perform app.require_percentage(v_pct, format('slot %s: ros_percentage', v_num));
    if v_at is null then
      perform app.fail('PT400', 'scheduled_for is required: ' || v_elem::text);
    end if;
    if (v_at at time zone v_tz)::date <> p_date then
      perform app.fail('PT400', format('slot %s: scheduled_for %s is not on %s in %s',
        v_num, v_raw, p_date, v_tz));
    end if;
    if v_num = any (v_seen) then
      perform app.fail('PT400', format('slot_number %s appears twice in p_slots', v_num));
    end if;
    v_seen := v_seen || v_num;
    return next (v_num, v_pct, v_at)::app.slot_input;
  end loop;
end
$$;

create or replace function public.admin_queue_distribution(
  p_distribution_date date,
  p_slots jsonb,
  p_multi_slot_enabled boolean default null,
  p_premium_pool numeric default null,
  p_performance_pool numeric default null,
  p_description text default null
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_created boolean := false;
  v_before jsonb;
  v_after jsonb;
  v_skipped int[];
  v_slots app.slot_input[];
begin
  perform app.require_admin(true);
  v_slots := array(select p from app.parse_slots(p_distribution_date, p_slots) p);
  perform app.require_money(p_premium_pool, 'p_premium_pool', false);
  perform app.require_money(p_performance_pool, 'p_performance_pool', false);
  perform app.require_text(p_description, 'p_description', app.max_note_length());

  v_id := app.lock_declaration(p_distribution_date, false);
  if v_id is null then
    insert into app.ros_declarations
      (distribution_date, multi_slot_enabled, premium_pool, performance_pool, description, created_by)
    values (p_distribution_date, coalesce(p_multi_slot_enabled, true), coalesce(p_premium_pool, 0),
            coalesce(p_performance_pool, 0), p_description, auth.uid())
    on conflict (distribution_date) do nothing
    returning id into v_id;
    v_created := v_id is not null;
    if not v_created then -- created concurrently: merge into it
      v_id := app.lock_declaration(p_distribution_date, true);
    end if;
  end if;
  v_before := case when v_created then null else app.declaration_json(v_id) end;

  update app.ros_declarations
     set multi_slot_enabled = coalesce(p_multi_slot_enabled, multi_slot_enabled),
         premium_pool = coalesce(p_premium_pool, premium_pool),
         performance_pool = coalesce(p_performance_pool, performance_pool),
         description = coalesce(p_description, description),
         updated_at = now()
   where id = v_id;

  -- New slot numbers are added; PENDING ones take the new values; COMPLETED, FAILED and
  -- CANCELLED ones are history and stay as they are.
  insert into app.ros_slots (declaration_id, distribution_date, slot_number, ros_percentage, scheduled_for)
  select v_id, p_distribution_date, q.slot_number, q.ros_percentage, q.scheduled_for
    from unnest(v_slots) q
  on conflict (distribution_date, slot_number) do update
     set ros_percentage = excluded.ros_percentage,
         scheduled_for = excluded.scheduled_for,
         updated_at = now()
   where app.ros_slots.status = 'PENDING';
  select array_agg(s.slot_number order by s.slot_number) into v_skipped
    from app.ros_slots s join unnest(v_slots) q using (slot_number)
   where s.declaration_id = v_id and s.status <> 'PENDING';

  perform app.require_single_slot_rule(v_id);
  v_after := app.declaration_json(v_id);
  perform app.audit('queue_distribution', jsonb_build_object('distribution_date', p_distribution_date),
    v_before, v_after);
  return v_after || jsonb_build_object('created', v_created,
    'untouched_slots', coalesce(to_jsonb(v_skipped), '[]'::jsonb));
end
$$;
comment on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text) is
  'Admin (aal2) or service: creates the day''s ROS declaration or merges into it: new slots are '
  'added, PENDING ones updated, COMPLETED/FAILED/CANCELLED ones kept. PT409 while a slot executes; '
  'PT400 for invalid slots or more than one slot with multi_slot_enabled = false. Returns the '
  'declaration plus "created".';
revoke all on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text) from public;
grant execute on function public.admin_queue_distribution(date, jsonb, boolean, numeric, numeric, text)
  to authenticated, service_role;

create or replace function public.admin_register_tokenization(
  p_property_id text,
  p_token_address text,
  p_chain_id bigint,
  p_price_per_token numeric,
  p_currency text default 'NGN',
  p_decimals int default 0
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_addr text := lower(btrim(coalesce(p_token_address, '')));
  v_id uuid;
  v_existing app.tokenizations;
begin
  perform app.require_admin(true);
  if coalesce(btrim(p_property_id), '') = '' then
    perform app.fail('PT400', 'p_property_id is required');
  end if;
  perform app.require_text(p_property_id, 'p_property_id', app.max_reference_length());
  if v_addr !~ '^0x[0-9a-f]{40}$' then
    perform app.fail('PT400', 'p_token_address must be 0x followed by 40 hex digits');
  end if;
  if p_chain_id is null or p_chain_id <= 0 then
    perform app.fail('PT400', 'p_chain_id must be positive');
  end if;
  if p_price_per_token is null then
    perform app.fail('PT400', 'p_price_per_token is required');
  end if;
  perform app.require_money(p_price_per_token, 'p_price_per_token', true);
  if coalesce(p_currency, '') !~ '^[A-Z]{3}$' then
    perform app.fail('PT400', 'p_currency must be an ISO 4217 code such as NGN');
  end if;
  if p_decimals is null or p_decimals < 0 or p_decimals > 36 then
    perform app.fail('PT400', 'p_decimals must be between 0 and 36');
  end if;
  -- Registering the same token for the same property again is a no-op, so scripts can re-run.
  select * into v_existing from app.tokenizations
   where (chain_id = p_chain_id and token_address = v_addr) or property_id = p_property_id
   limit 1;
  if v_existing.id is not null then
    if v_existing.property_id = p_property_id and v_existing.token_address = v_addr
       and v_existing.chain_id = p_chain_id then
      return jsonb_build_object('tokenization_id', v_existing.id, 'created', false);
    end if;
    perform app.fail('PT409', 'this property or token is already registered differently',
      'tokenization ' || v_existing.id);
  end if;
  insert into app.tokenizations (property_id, token_address, chain_id, price_per_token, currency, decimals)
  values (p_property_id, v_addr, p_chain_id, p_price_per_token, p_currency, p_decimals)
  returning id into v_id;
  perform app.audit('register_tokenization', jsonb_build_object('tokenization_id', v_id), null,
    jsonb_build_object('property_id', p_property_id, 'token_address', v_addr, 'chain_id', p_chain_id,
      'price_per_token', p_price_per_token, 'currency', p_currency, 'decimals', p_decimals));
  return jsonb_build_object('tokenization_id', v_id, 'created', true);
end
$$;
comment on function public.admin_register_tokenization(text, text, bigint, numeric, text, int) is
  'Admin (aal2) or service: registers a property''s ERC-20 token. Returns {"tokenization_id"}. '
  'Re-registering the same (property, token, chain) returns the same id; a conflicting one is PT409.';
revoke all on function public.admin_register_tokenization(text, text, bigint, numeric, text, int) from public;
grant execute on function public.admin_register_tokenization(text, text, bigint, numeric, text, int)
  to authenticated, service_role;

create or replace function public.create_investment(p_tokenization_id uuid, p_tokens numeric)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_t app.tokenizations;
  v_amount numeric;
  v_inv app.investments;
begin
  if p_tokens is null then
    perform app.fail('PT400', 'p_tokens is required: a positive whole number of tokens (base units)');
  end if;
  perform app.require_whole(p_tokens, 'p_tokens', true);
  select * into v_t from app.tokenizations where id = p_tokenization_id;
  if v_t.id is null then
    perform app.fail('PT404', 'no such tokenization', 'check p_tokenization_id');
  end if;
  v_amount := p_tokens * v_t.price_per_token / power(10::numeric, v_t.decimals);
  if v_amount <> round(v_amount, 2) or v_amount < 0.01 then
    perform app.fail('PT400', 'the price of this many tokens is not a whole number of kobo');
  end if;
  if v_amount > 99999999999.99 then
    perform app.fail('PT400', 'amount too large for one payment');
  end if;
  insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
  values (v_user, v_t.id, p_tokens, v_amount, (v_amount * 100)::bigint, v_t.currency,
          'INV-' || upper(replace(gen_random_uuid()::text, '-', '')))
  returning * into v_inv;
  return jsonb_build_object(
    'investment_id', v_inv.id,
    'reference', v_inv.reference,
    'tokens', v_inv.tokens::text,
    'amount', app.money_text(v_inv.amount),
    'amount_subunit', v_inv.amount_subunit,
    'currency', v_inv.currency,
    'payment_status', v_inv.payment_status);
end
$$;
comment on function public.create_investment(uuid, numeric) is
  'Authenticated: creates a pending investment in p_tokens tokens. Returns {investment_id, reference, '
  'tokens, amount, amount_subunit (the kobo Paystack charges), currency}; pay with the reference.';
revoke all on function public.create_investment(uuid, numeric) from public;
grant execute on function public.create_investment(uuid, numeric) to authenticated;

create or replace function public.record_paystack_event(p_event jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_type text := p_event ->> 'event';
  v_data jsonb := p_event -> 'data';
  v_event_id text := p_event -> 'data' ->> 'id';
  v_reference text := p_event -> 'data' ->> 'reference';
  v_row bigint;
  v_prev app.paystack_events;
  v_inv app.investments;
  v_outcome text;
  v_amount numeric;
begin
  perform app.require_service('only the service role records Paystack events');
  if v_type is null or jsonb_typeof(v_data) is distinct from 'object' or coalesce(v_event_id, '') = '' then
    perform app.fail('PT400', 'a Paystack event needs "event" and "data.id"');
  end if;
  perform app.require_text(v_type, 'event', 100);
  perform app.require_text(v_event_id, 'data.id', 100);
  perform app.require_text(v_reference, 'data.reference', app.max_reference_length());

  insert into app.paystack_events (event_type, event_id, reference, payload)
  values (v_type, v_event_id, v_reference, p_event)
  on conflict (event_type, event_id) do nothing
  returning id into v_row;
  if v_row is null then
    -- A retry of an event we already have: report, change nothing.
    select * into v_prev from app.paystack_events where event_type = v_type and event_id = v_event_id;
    return jsonb_build_object('outcome', 'duplicate', 'investment_id', v_prev.investment_id,
      'user_id', (select user_id from app.investments where id = v_prev.investment_id),
      'first_outcome', v_prev.outcome);
  end if;

  if v_type <> 'charge.success' then
    v_outcome := 'ignored';
  else
    select * into v_inv from app.investments where reference = v_reference for update;
    if v_inv.id is null then
      v_outcome := 'unknown_reference';
    else
      begin
        v_amount := (v_data ->> 'amount')::numeric;
      exception when others then
        v_amount := null;
      end;
      if v_amount is distinct from v_inv.amount_subunit::numeric
         or upper(coalesce(v_data ->> 'currency', '')) <> v_inv.currency then
        update app.investments set payment_status = 'amount_mismatch', updated_at = now()
         where id = v_inv.id and payment_status = 'pending';
        v_outcome := case when found then 'amount_mismatch' else 'duplicate' end;
      else
        update app.investments
           set payment_status = 'confirmed', confirmed_at = now(), updated_at = now()
         where id = v_inv.id and payment_status = 'pending';
        if found then
          v_outcome := 'investment_confirmed';
          -- Distribution starts after commit, without the webhook waiting for it (F9: this only
          -- enqueues; the claim decides who distributes).
          if coalesce(app.setting('auto_distribute'), 'on') = 'on' then
            perform app.invoke_function('distribute-tokens', jsonb_build_object('user_id', v_inv.user_id));
          end if;
        else
          v_outcome := 'duplicate'; -- already confirmed by another event for the same reference
        end if;
      end if;
    end if;
  end if;

  update app.paystack_events set outcome = v_outcome, investment_id = v_inv.id where id = v_row;
  return jsonb_build_object('outcome', v_outcome, 'investment_id', v_inv.id, 'user_id', v_inv.user_id);
end
$$;
comment on function public.record_paystack_event(jsonb) is
  'Service (the paystack-webhook function): stores every event once per (event, data.id). For '
  'charge.success it matches data.reference, checks amount (kobo) and currency, and moves the '
  'investment pending -> confirmed, then queues distribution. Returns {outcome, investment_id, '
  'user_id}; outcome is investment_confirmed, duplicate, amount_mismatch, unknown_reference or ignored.';
revoke all on function public.record_paystack_event(jsonb) from public;
grant execute on function public.record_paystack_event(jsonb) to service_role;

create or replace function public.admin_token_alerts(p_stuck_after interval default '10 minutes')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_last bigint := (select max(id) from app.reconciliation_runs);
begin
  perform app.require_admin(false);
  return coalesce((
    select jsonb_agg(a order by a ->> 'kind')
      from (
        select jsonb_build_object('kind', 'stuck_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
                 'status', t.status, 'nonce', t.nonce, 'since', t.updated_at) as a
          from app.token_transfers t
         where t.status in ('planned', 'signed', 'broadcast') and t.updated_at < now() - p_stuck_after
        union all
        select jsonb_build_object('kind', 'failed_transfer', 'transfer_id', t.id, 'user_id', t.user_id,
                 'error', t.error, 'at', t.updated_at)
          from app.token_transfers t
         where t.status = 'failed' and t.updated_at > now() - interval '7 days'
        union all
        select jsonb_build_object('kind', case when d.kind = 'audit_unavailable' then 'audit_unavailable'
                                               else 'discrepancy' end, 'run_id', d.run_id, 'user_id', d.user_id,
                 'tokenization_id', d.tokenization_id, 'detail', d.detail)
          from app.token_discrepancies d where d.run_id = v_last
        union all
        select jsonb_build_object('kind', case when p.kyc_status <> 'verified' then 'waiting_on_kyc'
                                               else 'waiting_on_wallet' end,
                 'user_id', i.user_id, 'investments', count(*), 'tokens', sum(i.tokens)::text)
          from app.investments i join app.profiles p on p.user_id = i.user_id
         where i.payment_status = 'confirmed' and (p.kyc_status <> 'verified' or p.wallet_address is null)
         group by i.user_id, p.kyc_status
        union all
        select jsonb_build_object('kind', 'amount_mismatch', 'investment_id', i.id, 'user_id', i.user_id)
          from app.investments i where i.payment_status = 'amount_mismatch'
        union all
        select jsonb_build_object('kind', 'investment_failed', 'investment_id', i.id, 'user_id', i.user_id,
                 'hint', 'three transfers failed; fix the cause, then set it back to confirmed')
          from app.investments i where i.payment_status = 'failed'
      ) x), '[]'::jsonb);
end
$$;
comment on function public.admin_token_alerts(interval) is
  'Admin or service: token pipeline alerts: stuck_transfer, failed_transfer (7 days), discrepancy '
  '(latest reconciliation run), audit_unavailable (a tokenization whose chain or contract could not '
  'be read in the latest run), waiting_on_kyc, waiting_on_wallet, amount_mismatch, investment_failed '
  '(three failed transfers: needs a person).';
revoke all on function public.admin_token_alerts(interval) from public;
grant execute on function public.admin_token_alerts(interval) to authenticated, service_role;

create or replace function public.execute_due_slots(p_now timestamptz default now())
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_slots bigint[];
  v_pass bigint[];
  v_slot bigint;
  v_per_pass int := greatest(coalesce(app.setting('ros_slots_per_pass')::int, 10), 1);
  v_next int := 1;
begin
  perform app.require_service('only the service role and pg_cron run slots');
  if p_now in ('infinity'::timestamptz, '-infinity'::timestamptz) then
    perform app.fail('PT400', 'p_now must be a point in time, not ' || p_now::text,
      'an infinite p_now would run every future slot at once');
  end if;
  -- One executor at a time; a concurrent call returns 0 at once: the running one takes every
  -- due slot, including any that became due meanwhile.
  if not pg_catalog.pg_try_advisory_xact_lock(7301, 0) then
    return 0;
  end if;
  select coalesce(array_agg(d.id order by d.scheduled_for, d.distribution_date, d.slot_number), '{}')
    into v_slots
    from (select s.id, s.scheduled_for, s.distribution_date, s.slot_number
            from app.ros_slots s
           where s.status = 'PENDING' and s.scheduled_for <= coalesce(p_now, pg_catalog.now())
             for update skip locked) d;
  while v_next <= pg_catalog.cardinality(v_slots) loop
    v_pass := v_slots[v_next : v_next + v_per_pass - 1];
    v_next := v_next + v_per_pass;
    if pg_catalog.cardinality(v_pass) > 1 then
      begin
        perform app.run_slots_batch(v_pass);
        continue;
      exception when others then
        -- Undone as a whole; one slot at a time then pays what can be paid and marks what fails.
        raise warning 'ROS pass of % slots failed (%), running them one by one',
          pg_catalog.cardinality(v_pass), sqlerrm;
      end;
    end if;
    foreach v_slot in array v_pass loop
      perform app.run_slot(v_slot, false);
    end loop;
  end loop;
  return pg_catalog.cardinality(v_slots);
end
$$;
comment on function public.execute_due_slots(timestamptz) is
  'Service and pg_cron: runs every PENDING slot with scheduled_for <= p_now, in time then slot '
  'order; returns how many ran. Each slot pays all eligible stakes once, set-based, and ends '
  'COMPLETED (with counts) or FAILED (with the error). Several due slots are paid in passes of up '
  'to ros_slots_per_pass (each slot with its own ledger transaction and counts), a pass falling '
  'back to one slot at a time on any error. Concurrent calls never run a slot twice.';
