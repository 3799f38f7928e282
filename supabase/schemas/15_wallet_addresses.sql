-- An investor's payout wallet address: stored lowercase, checksummed when mixed case, unique, and
-- never an address the platform protects (14_treasury_accounts.sql).

-- set_my_wallet_address -------------------------------------------------------------------------
create or replace function public.set_my_wallet_address(p_address text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user uuid := app.require_user();
  v_given text := btrim(coalesce(p_address, ''));
  v_addr text := lower(v_given);
begin
  perform app.require_address(v_given, 'wallet address must be 0x followed by 40 hex digits');
  -- Mixed case is an EIP-55 checksum: one that does not match is a typo, and tokens sent to the
  -- mistyped address are lost.
  if not app.eip55_ok(v_given) then
    perform app.fail('PT400', 'wallet address has a wrong EIP-55 checksum (its mixed case does not match): '
      || 'check it for a typo', 'paste it again from the wallet, or give it all in lower case');
  end if;
  -- Precompiles (0x...01 - 0x...11, 0x...100) and other system addresses: no key controls them.
  if v_addr ~ '^0x0{36}' and v_addr <> '0x0000000000000000000000000000000000000000' then
    perform app.fail('PT400', 'this address is a precompile or system contract (at most 0xffff): '
      || 'tokens sent there are lost', 'use a wallet you control');
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
  'stored lowercase; mixed case must be its EIP-55 checksum). PT400 when malformed, a wrong checksum, '
  'a precompile or system address (at most 0xffff), or the zero, a treasury or a token contract '
  'address; PT409 when another account uses it.';
revoke all on function public.set_my_wallet_address(text) from public;
grant execute on function public.set_my_wallet_address(text) to authenticated;
