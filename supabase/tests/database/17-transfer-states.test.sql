-- The transfer state machine (17_token_transfers): app.transfer_transitions() is the rule, and the
-- trigger refuses every change of status it does not list, whoever makes it; app.distribution_stages
-- maps the investment, transfer and trail vocabularies onto each other.
begin;
select plan(14);

select tests.create_user('transfer-states@test.io') as u \gset
insert into app.tokenizations (property_id, token_address, chain_id, price_per_token)
values ('TRANSFER-STATES-1', '0x7878787878787878787878787878787878787878', 78787, 10) returning id as tok \gset
insert into app.token_transfers (tokenization_id, user_id, to_address, token_address, chain_id, signer,
  nonce, amount, gas_limit, max_fee_per_gas, max_priority_fee_per_gas)
values (:'tok', :'u', '0x4444444444444444444444444444444444444444', '0x7878787878787878787878787878787878787878',
  78787, '0x6666666666666666666666666666666666666666', 0, 1, 100000, 1, 1) returning id as t \gset

select throws_ok($$update app.token_transfers set status = 'broadcast', tx_hash = '0x$$ || repeat('ab', 32)
  || $$', raw_tx = '0x02' where id = '$$ || :'t' || $$'$$,
  '23514', null, 'planned to broadcast skips signed: refused');
select lives_ok($$update app.token_transfers set status = 'signed', tx_hash = '0x$$ || repeat('ab', 32)
  || $$', raw_tx = '0x02' where id = '$$ || :'t' || $$'$$, 'planned to signed is a transition');
select lives_ok($$update app.token_transfers set status = 'confirmed', block_number = 1 where id = '$$ || :'t' || $$'$$,
  'signed to confirmed is a transition (a receipt deep enough at once)');
select throws_ok($$update app.token_transfers set status = 'failed' where id = '$$ || :'t' || $$'$$,
  '23514', 'token_transfers.status: confirmed to failed is not a transition of its state machine (app.transfer_transitions)',
  'confirmed is final: the refusal names the table, the column and the states');
select is_empty($$select 1 from app.transfer_transitions() where from_status in ('confirmed', 'failed')$$,
  'nothing leaves confirmed or failed');
select is(array(select s from (select from_status as s from app.transfer_transitions() where from_status <> 'mined'
                               union select to_status from app.transfer_transitions()) x
                 where s = any (app.live_transfer_statuses()) order by s),
  array(select unnest(app.live_transfer_statuses()) order by 1),
  'every live status is a state of the machine');
select is((select count(*)::int from (select distinct from_status, to_status from app.transfer_transitions()) x),
  (select count(*)::int from app.transfer_transitions()), 'each transition listed once');

-- One distribution in its three vocabularies (app.distribution_stages): a claim, its signing,
-- broadcast, a shallow receipt and the final one keep the investment, its transfer and its trail
-- at the same stage; a failed transfer releases its investment.
create function pg_temp.stage(p_inv uuid) returns text language sql as $$
  select coalesce((select d.stage from app.distribution_stages() d
                    where d.investment_status = i.payment_status
                      and d.transfer_status = t.status
                      and d.event_status = e.status),
                  i.payment_status || '/' || coalesce(t.status, '-') || '/' || coalesce(e.status, '-'))
    from app.investments i
    left join lateral (select ev.status, ev.transfer_id from app.investment_events ev
                        where ev.investment_id = i.id order by ev.id desc limit 1) e on true
    left join app.token_transfers t on t.id = coalesce(i.transfer_id, e.transfer_id)
   where i.id = p_inv
$$;
update app.profiles set kyc_status = 'verified', wallet_address = '0x4545454545454545454545454545454545454545'
 where user_id = :'u';
insert into app.chain_policies (chain_id, max_fee_per_gas, max_priority_fee_per_gas, min_confirmations)
values (78787, 1000, 10, 2)
on conflict (chain_id) do update set min_confirmations = 2;
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference, payment_status)
values (:'u', :'tok', 3, 30, 3000, 'NGN', 'stages-1', 'confirmed') returning id as inv \gset
select tests.authenticate_as_service();
select public.claim_token_distributions('stages', '0x6666666666666666666666666666666666666666', 78787, 1, 1,
  :'u', :'tok', 1, 1) -> 0 ->> 'transfer_id' as tr \gset
select tests.clear_authentication();
select is(pg_temp.stage(:'inv'), 'claimed', 'a claim: distributing, planned, processing');
select tests.authenticate_as_service();
select public.record_signed_transfer(:'tr', '0x' || repeat('cd', 32), '0x02');
select tests.clear_authentication();
select is(pg_temp.stage(:'inv'), 'signed', 'its bytes recorded: distributing, signed, processing');
select tests.authenticate_as_service();
select public.mark_transfers_broadcast(array[:'tr'::uuid]);
select tests.clear_authentication();
select is(pg_temp.stage(:'inv'), 'broadcast', 'sent: distributing, broadcast, processing');
select app.confirm_transfer(:'tr', '0x' || repeat('cd', 32), 10, 10);
select is(pg_temp.stage(:'inv'), 'mined', 'a receipt one block deep of two: distributing, mined, processing');
select app.confirm_transfer(:'tr', '0x' || repeat('cd', 32), 10, 11);
select is(pg_temp.stage(:'inv'), 'final', 'two blocks deep: tokens_distributed, confirmed, success');
-- Made after the first claim, so that it is a transfer of its own.
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference, payment_status)
values (:'u', :'tok', 2, 20, 2000, 'NGN', 'stages-2', 'confirmed') returning id as inv2 \gset
select tests.authenticate_as_service();
select public.claim_token_distributions('stages', '0x6666666666666666666666666666666666666666', 78787, 2, 1,
  :'u', :'tok', 1, 1) -> 0 ->> 'transfer_id' as tr2 \gset
select public.fail_token_transfer(:'tr2', 'it would revert', false);
select tests.clear_authentication();
select is(pg_temp.stage(:'inv2'), 'released', 'a failed transfer: confirmed again, failed, failed');
select is_empty($$select d.stage from app.distribution_stages() d
  where d.investment_status not in (select from_status from app.investment_transitions()
                                    union select to_status from app.investment_transitions())
     or d.transfer_status not in (select from_status from app.transfer_transitions()
                                  union select to_status from app.transfer_transitions())$$,
  'every stage names a state of each machine');

select * from finish();
rollback;
