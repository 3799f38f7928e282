-- Input validation in one place (CONTRACT "Platform fidelity"): every money, percentage,
-- whole-number, free-text and timestamp argument goes through one helper, so NaN and Infinity,
-- sub-cent money, oversized keys and zone-less times are refused (PT400) or read the same way by
-- every RPC. The RPCs call these helpers; none repeats a check of its own.

-- The documented input limits (README "Input limits").
insert into app.settings (key, value) values
  ('max_money', '999999999999.99'),
  ('max_reference_length', '200'),
  ('max_note_length', '2000')
on conflict (key) do nothing;

-- numeric has NaN and ±Infinity: JSON has neither, but the string "NaN" or "Infinity" becomes one
-- when it is read as a numeric parameter. No amount, percentage or count may be one: this is the
-- one definition of "finite" the helpers below share. (plpgsql: its plan is cached; a sql function
-- with its own search_path would be planned again in every transaction.)
create or replace function app.is_finite(p_value numeric)
returns boolean
language plpgsql
immutable
parallel safe
set search_path = ''
as $$
begin
  return p_value not in ('NaN'::numeric, 'Infinity'::numeric, '-Infinity'::numeric);
end
$$;

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
  if not app.is_finite(p_value) then
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
  if p_value > app.setting('max_money')::numeric then
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
  if p_value is null or not app.is_finite(p_value)
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
  if not app.is_finite(p_value)
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

-- Text that is a uuid in its canonical form (hex digits in any case): what a text argument or a
-- cursor must hold before it is cast, so a bad one is a PT400 and never a cast error.
create or replace function app.is_uuid(p_value text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(p_value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', false)
$$;

-- A uuid given as text inside a JSON argument (a cursor, a key): PT400 naming it when it is not
-- one, or when it is missing and p_required.
create or replace function app.require_uuid(p_value text, p_name text, p_required boolean default true)
returns uuid
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_value is null then
    if p_required then
      perform app.fail('PT400', p_name || ' is required');
    end if;
    return null;
  end if;
  if not app.is_uuid(p_value) then
    perform app.fail('PT400', p_name || ' must be a uuid');
  end if;
  return p_value::uuid;
end
$$;

-- An Ethereum address as stored: 0x and 40 lowercase hex digits (given in any case, trimmed).
create or replace function app.is_address(p_value text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(p_value ~ '^0x[0-9a-f]{40}$', false)
$$;

-- A transaction hash as stored: 0x and 64 lowercase hex digits.
create or replace function app.is_tx_hash(p_value text)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select coalesce(p_value ~ '^0x[0-9a-f]{64}$', false)
$$;

-- The columns that hold an address or a transaction hash take these domains, so the rule of what
-- may be stored is the one above, not a check copied into each table (null passes: a column says
-- itself whether it is required).
create domain app.address as text check (value is null or app.is_address(value));
create domain app.tx_hash as text check (value is null or app.is_tx_hash(value));

create or replace function app.require_address(p_value text, p_message text)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_addr text := pg_catalog.lower(pg_catalog.btrim(coalesce(p_value, '')));
begin
  if not app.is_address(v_addr) then
    perform app.fail('PT400', p_message);
  end if;
  return v_addr;
end
$$;

-- A signed transaction as given to the database: its 32-byte hash (returned lowercase) and its
-- raw bytes in 0x hex.
create or replace function app.require_signed_tx(p_tx_hash text, p_raw_tx text)
returns text
language plpgsql
stable
set search_path = ''
as $$
declare
  v_hash text := pg_catalog.lower(coalesce(p_tx_hash, ''));
begin
  if not app.is_tx_hash(v_hash) or coalesce(p_raw_tx, '') !~ '^0x[0-9a-fA-F]+$' then
    perform app.fail('PT400', 'p_tx_hash must be a 32-byte 0x hash and p_raw_tx 0x-prefixed hex');
  end if;
  return v_hash;
end
$$;

create or replace function app.max_reference_length()
returns int
language sql
stable
set search_path = ''
as $$
  select app.setting('max_reference_length')::int
$$;

create or replace function app.max_note_length()
returns int
language sql
stable
set search_path = ''
as $$
  select app.setting('max_note_length')::int
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

-- Keccak-256 (Ethereum's: the original Keccak padding, not SHA3-256's), for EIP-55 address
-- checksums. Keccak-f[1600] on 25 little-endian 64-bit lanes held as bigint (two's complement:
-- xor, and, not and left shifts are the same bits; a right shift is masked to make it logical).
create or replace function app.keccak256(p_data bytea)
returns bytea
language plpgsql
immutable
strict
set search_path = ''
as $$
declare
  -- Round constants and rotation offsets (index x + 5y), from the Keccak reference.
  rc constant bigint[] := array[
    x'0000000000000001'::bit(64)::bigint, x'0000000000008082'::bit(64)::bigint,
    x'800000000000808A'::bit(64)::bigint, x'8000000080008000'::bit(64)::bigint,
    x'000000000000808B'::bit(64)::bigint, x'0000000080000001'::bit(64)::bigint,
    x'8000000080008081'::bit(64)::bigint, x'8000000000008009'::bit(64)::bigint,
    x'000000000000008A'::bit(64)::bigint, x'0000000000000088'::bit(64)::bigint,
    x'0000000080008009'::bit(64)::bigint, x'000000008000000A'::bit(64)::bigint,
    x'000000008000808B'::bit(64)::bigint, x'800000000000008B'::bit(64)::bigint,
    x'8000000000008089'::bit(64)::bigint, x'8000000000008003'::bit(64)::bigint,
    x'8000000000008002'::bit(64)::bigint, x'8000000000000080'::bit(64)::bigint,
    x'000000000000800A'::bit(64)::bigint, x'800000008000000A'::bit(64)::bigint,
    x'8000000080008081'::bit(64)::bigint, x'8000000000008080'::bit(64)::bigint,
    x'0000000080000001'::bit(64)::bigint, x'8000000080008008'::bit(64)::bigint];
  rot constant int[] := array[0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39,
                              41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
  rate constant int := 136;
  msg bytea;
  a bigint[] := array_fill(0::bigint, array[25]);
  b bigint[] := array_fill(0::bigint, array[25]);
  c bigint[] := array_fill(0::bigint, array[5]);
  d bigint;
  lane bigint;
  v bigint;
  n int;
  out bytea := ''::bytea;
begin
  -- Padding: 0x01, zeros, 0x80 (one byte 0x81 when only one is left).
  n := rate - (length(p_data) % rate);
  msg := p_data || decode(repeat('00', n), 'hex');
  msg := set_byte(msg, length(p_data), 1);
  msg := set_byte(msg, length(msg) - 1, get_byte(msg, length(msg) - 1) | 128);
  for blk in 0 .. length(msg) / rate - 1 loop
    for i in 0 .. rate / 8 - 1 loop
      lane := 0;
      for k in 0 .. 7 loop
        lane := lane | (get_byte(msg, blk * rate + i * 8 + k)::bigint << (8 * k));
      end loop;
      a[i + 1] := a[i + 1] # lane;
    end loop;
    for i in 1 .. 24 loop
      -- theta
      for x in 0 .. 4 loop
        c[x + 1] := a[x + 1] # a[x + 6] # a[x + 11] # a[x + 16] # a[x + 21];
      end loop;
      for x in 0 .. 4 loop
        v := c[(x + 1) % 5 + 1];
        d := c[(x + 4) % 5 + 1] # ((v << 1) | ((v >> 63) & 1));
        for y in 0 .. 4 loop
          a[x + 5 * y + 1] := a[x + 5 * y + 1] # d;
        end loop;
      end loop;
      -- rho and pi
      for x in 0 .. 4 loop
        for y in 0 .. 4 loop
          v := a[x + 5 * y + 1];
          n := rot[x + 5 * y + 1];
          if n > 0 then
            v := (v << n) | ((v >> (64 - n)) & ((1::bigint << n) - 1));
          end if;
          b[y + 5 * ((2 * x + 3 * y) % 5) + 1] := v;
        end loop;
      end loop;
      -- chi
      for x in 0 .. 4 loop
        for y in 0 .. 4 loop
          a[x + 5 * y + 1] := b[x + 5 * y + 1]
            # ((~b[(x + 1) % 5 + 5 * y + 1]) & b[(x + 2) % 5 + 5 * y + 1]);
        end loop;
      end loop;
      -- iota
      a[1] := a[1] # rc[i];
    end loop;
  end loop;
  for i in 1 .. 4 loop
    for k in 0 .. 7 loop
      out := out || set_byte('\x00'::bytea, 0, ((a[i] >> (8 * k)) & 255)::int);
    end loop;
  end loop;
  return out;
end
$$;

-- Whether a 0x-prefixed 40-hex-digit address passes EIP-55: all lower case and all upper case
-- carry no checksum and pass; mixed case must be the checksum (a letter is upper case exactly when
-- the matching hex digit of keccak256 of the lower-case address is 8 or more).
create or replace function app.eip55_ok(p_address text)
returns boolean
language plpgsql
immutable
strict
set search_path = ''
as $$
declare
  v_hex text := substr(p_address, 3);
  v_hash text;
  v_char text;
begin
  if v_hex = lower(v_hex) or v_hex = upper(v_hex) then
    return true;
  end if;
  v_hash := encode(app.keccak256(convert_to(lower(v_hex), 'UTF8')), 'hex');
  for i in 1 .. 40 loop
    v_char := substr(v_hex, i, 1);
    if v_char ~ '[a-fA-F]' and
       (v_char = upper(v_char)) <> (('x' || substr(v_hash, i, 1))::bit(4)::int >= 8) then
      return false;
    end if;
  end loop;
  return true;
end
$$;
