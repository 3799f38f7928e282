-- Tokenizations: a property's ERC-20 token, its price and the treasury it is paid from. Token
-- quantities are integer base units: numeric(78,0).

create table app.tokenizations (
  id uuid primary key default gen_random_uuid(),
  property_id text not null unique check (length(property_id) between 1 and 200),
  token_address app.address not null,
  chain_id bigint not null check (chain_id > 0),
  price_per_token numeric(20, 2) not null check (price_per_token > 0),
  currency text not null default 'NGN' check (currency ~ '^[A-Z]{3}$'),
  decimals int not null default 0 check (decimals between 0 and 36),
  created_at timestamptz not null default now(),
  -- Since when distribution runs could not read the treasury's balance of this token (no
  -- contract at the address, a call that reverts or answers garbage), and why; null when readable.
  -- Its investments wait (deferred token_unreadable); every other tokenization goes out.
  unreadable_since timestamptz,
  unreadable_error text,
  unique (chain_id, token_address)
);
alter table app.tokenizations enable row level security;
-- Which property a token is for is public to investors (my_investments, my_token_holdings).
create policy tokenizations_investors_read on app.tokenizations for select to authenticated
  using (true);
grant select (id, property_id) on app.tokenizations to authenticated;

-- A token's price, one rule read both ways: price_per_token is the price of one whole token
-- (10^decimals base units) in major units of the tokenization's currency.
-- What p_tokens base units cost, exact (a caller decides whether that is a whole number of kobo).
create or replace function app.price_of_tokens(p_t app.tokenizations, p_tokens numeric)
returns numeric
language sql
immutable
set search_path = ''
as $$
  select p_tokens * p_t.price_per_token / pg_catalog.power(10::numeric, p_t.decimals)
$$;

-- The whole base units p_kobo (minor units) pays for: never more than the money covers.
create or replace function app.tokens_bought(p_t app.tokenizations, p_kobo numeric)
returns numeric
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.floor(p_kobo / 100 * pg_catalog.power(10::numeric, p_t.decimals) / p_t.price_per_token)
$$;

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
  perform app.require_address(v_addr, 'p_token_address must be 0x followed by 40 hex digits');
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
