-- The transfer state machine (17_token_transfers): app.transfer_transitions() is the rule, and the
-- trigger refuses every change of status it does not list, whoever makes it.
begin;
select plan(7);

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

select * from finish();
rollback;
