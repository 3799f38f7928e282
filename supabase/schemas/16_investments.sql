-- Investments: what an investor paid (Paystack, in kobo) for how many tokens, and the trail of
-- each one's distribution. Its state machine (payment_status) is app.investment_transitions(),
-- below: every change of status it allows, with what makes it; a trigger refuses any other.
-- tokens_distributed, refunded and failed are final. A refund or dispute after distribution
-- changes no status: it raises an alert (refund_after_distribution, dispute_after_distribution).

-- The claimed states: an investment whose tokens a transfer carries (distributing) or carried
-- (tokens_distributed). Exactly these name their transfer (transfer_matches_status, below), and a
-- refund or dispute of a claimed investment changes nothing on chain: it raises an alert. The one
-- place this set is written; immutable, so a statement reads it as a constant.
-- A check reads it: see README, "Changing the database", before changing it.
create or replace function app.claimed_statuses()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['distributing', 'tokens_distributed']
$$;

-- The states whose tokens the investor is owed: confirmed (waiting for its claim) and claimed.
create or replace function app.owed_statuses()
returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['confirmed'] || app.claimed_statuses()
$$;

create table app.investments (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id),
  tokenization_id uuid not null references app.tokenizations (id),
  tokens numeric(78, 0) not null check (tokens > 0),
  amount numeric(20, 2) not null check (amount > 0),
  amount_subunit bigint not null check (amount_subunit > 0),
  currency text not null,
  reference text not null unique,
  payment_status text not null default 'pending' check (payment_status in
    ('pending', 'confirmed', 'distributing', 'tokens_distributed', 'amount_mismatch', 'failed',
     'refunded', 'disputed')),
  transfer_id uuid,
  -- Why the investment's tokens are held back (never claimed while set), for money that may be on
  -- its way back: in_progress (refund.pending / refund.processing, until processed or failed),
  -- needs_attention (refund.needs-attention, or a refund whose amount could not be read: a person
  -- looks), partial (a processed refund of less than was paid: admin_resolve_investment accepts
  -- the tokens the kept money pays for, or cancels).
  refund_hold text check (refund_hold in ('in_progress', 'needs_attention', 'partial')),
  refund_hold_since timestamptz,
  -- When the sweep (verify-pending-payments) last asked Paystack about this pending investment.
  verify_checked_at timestamptz,
  -- What a won dispute returns a disputed investment to (amount_mismatch stays amount_mismatch).
  status_before_dispute text,
  -- A refund or dispute that came after the investment was claimed (distributing or
  -- tokens_distributed): nothing changes on chain; admin_token_alerts shows it until an admin
  -- acknowledges it (admin_resolve_investment). If the transfer then fails, the investment
  -- becomes refunded or disputed instead of claimable again.
  reversal text check (reversal in ('refund', 'dispute')),
  -- When the reversal was applied (clock time: after the claim it waited for, if any).
  reversal_at timestamptz,
  reversal_acknowledged_at timestamptz,
  confirmed_at timestamptz,
  distributed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Claimed investments always name their transfer; others never do.
  constraint transfer_matches_status check (
    (payment_status = any (app.claimed_statuses())) = (transfer_id is not null))
);
-- The investment state machine: each allowed change of payment_status and what makes it (the
-- files named). The table is the rule: investments_status_transition refuses every other change.
create or replace function app.investment_transitions()
returns table (from_status text, to_status text, made_by text)
language sql
immutable
set search_path = ''
as $$
  values
    ('pending',         'confirmed',          'charge.success paid in full (23_paystack_events)'),
    ('pending',         'amount_mismatch',    'charge.success of another amount (23)'),
    ('pending',         'refunded',           'a refund before the payment was confirmed (23)'),
    ('pending',         'disputed',           'a dispute opened (23)'),
    ('pending',         'failed',             'admin_resolve_investment cancel (25_investment_holds)'),
    ('confirmed',       'distributing',       'claim_token_distributions (20_token_distribution)'),
    ('confirmed',       'refunded',           'a full refund before the claim (23)'),
    ('confirmed',       'disputed',           'a dispute opened before the claim (23)'),
    ('confirmed',       'failed',             'admin_resolve_investment cancel of a held one (25)'),
    ('amount_mismatch', 'confirmed',          'admin_resolve_investment accept (25)'),
    ('amount_mismatch', 'refunded',           'a refund (23)'),
    ('amount_mismatch', 'disputed',           'a dispute opened (23)'),
    ('amount_mismatch', 'failed',             'admin_resolve_investment cancel (25)'),
    ('distributing',    'tokens_distributed', 'its transfer confirmed (20)'),
    ('distributing',    'confirmed',          'its transfer failed: claimed again (20)'),
    ('distributing',    'refunded',           'its transfer failed after a refund came (20)'),
    ('distributing',    'disputed',           'its transfer failed after a dispute came (20)'),
    ('distributing',    'failed',             'its third transfer failed (20)'),
    ('disputed',        'confirmed',          'charge.dispute.resolve for the merchant (23)'),
    ('disputed',        'amount_mismatch',    'charge.dispute.resolve for the merchant (23)'),
    ('disputed',        'refunded',           'charge.dispute.resolve for the customer, a refund (23)'),
    ('disputed',        'failed',             'admin_resolve_investment cancel (25)')
$$;

create trigger investments_status_transition
  before update of payment_status on app.investments
  for each row when (old.payment_status is distinct from new.payment_status)
  execute function app.check_transition('payment_status', 'app.investment_transitions');

create index investments_claimable on app.investments (created_at) where payment_status = 'confirmed';
-- The verify sweep's order: pending investments asked about least recently first.
create index investments_pending_verify on app.investments (verify_checked_at nulls first, created_at)
  where payment_status = 'pending';
create index investments_user on app.investments (user_id);
create index investments_transfer on app.investments (transfer_id) where transfer_id is not null;
alter table app.investments enable row level security;
create index investments_tokenization on app.investments (tokenization_id);
-- An investor reads their own investments (public.my_investments, my_token_holdings).
create policy investments_owner_reads on app.investments for select to authenticated
  using (user_id = (select auth.uid()));
grant select (id, user_id, tokenization_id, tokens, amount, currency, reference, payment_status,
              created_at, confirmed_at, distributed_at, transfer_id)
  on app.investments to authenticated;

-- Claimable: what the distributor may send tokens for now. A confirmed investment with no refund or
-- dispute hold on it (25_investment_holds.sql), whose investor is KYC-verified and has a wallet.
-- The one place this rule lives: the claim (claim_token_distributions), what a claim left waiting
-- (distribution_backlog) and the stalled-distribution alert read it. Whether the token's contract
-- answers (tokenizations.unreadable_since) is the tokenization's, which each reader joins as it
-- needs. A view, so each reader's statement is planned as if the rule were written in it (the
-- partial index on confirmed investments included), locking (for update) the investments it
-- shows; reached only through those functions. Only the columns its readers use, so that other
-- changes to investments do not have to replace the view.
create view app.claimable_investments with (security_invoker = true) as
select i.id, i.user_id, i.tokenization_id, i.tokens, i.created_at, i.confirmed_at
  from app.investments i
 where i.payment_status = 'confirmed'
   and i.refund_hold is null
   and exists (select 1 from app.profiles p
                where p.user_id = i.user_id and p.kyc_status = 'verified' and p.wallet_address is not null);

-- The per-investment trail: processing (claimed), success (confirmed on chain), failed (released).
create table app.investment_events (
  id bigint generated always as identity primary key,
  investment_id uuid not null references app.investments (id),
  status text not null check (status in ('processing', 'success', 'failed')),
  transfer_id uuid,
  detail text,
  created_at timestamptz not null default now()
);
create index investment_events_investment on app.investment_events (investment_id);
alter table app.investment_events enable row level security;

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
  v_amount := app.price_of_tokens(v_t, p_tokens);
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
