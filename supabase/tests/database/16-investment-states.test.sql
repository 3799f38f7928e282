-- The investment state machine (16_investments): app.investment_transitions() is the rule, and the
-- trigger refuses every change of payment_status it does not list, whoever makes it.
begin;
select plan(8);

select tests.create_user('states@test.io') as u \gset
insert into app.tokenizations (property_id, token_address, chain_id, price_per_token)
values ('STATES-1', '0x7777777777777777777777777777777777777777', 77777, 10) returning id as tok \gset
insert into app.investments (user_id, tokenization_id, tokens, amount, amount_subunit, currency, reference)
values (:'u', :'tok', 1, 10, 1000, 'NGN', 'states-1') returning id as inv \gset

select lives_ok($$update app.investments set payment_status = 'confirmed' where id = '$$ || :'inv' || $$'$$,
  'pending to confirmed is a transition');
select throws_ok($$update app.investments set payment_status = 'amount_mismatch' where id = '$$ || :'inv' || $$'$$,
  '23514', null, 'confirmed to amount_mismatch is not: refused');
select lives_ok($$update app.investments set payment_status = 'failed' where id = '$$ || :'inv' || $$'$$,
  'confirmed to failed is a transition (an admin cancels a held one)');
select throws_ok($$update app.investments set payment_status = 'confirmed' where id = '$$ || :'inv' || $$'$$,
  '23514', 'investments.payment_status: failed to confirmed is not a transition of its state machine (app.investment_transitions)',
  'failed is final: the refusal names the table, the column and the states');
select lives_ok($$update app.investments set updated_at = now() where id = '$$ || :'inv' || $$'$$,
  'a change of anything else on a final investment is not a transition');
select is_empty($$select 1 from app.investment_transitions()
                   where from_status in ('tokens_distributed', 'refunded', 'failed')$$,
  'nothing leaves tokens_distributed, refunded or failed');
select is_empty($$select s from (select from_status as s from app.investment_transitions()
                                 union select to_status from app.investment_transitions()) x
                   where s not in ('pending', 'confirmed', 'distributing', 'tokens_distributed',
                                   'amount_mismatch', 'failed', 'refunded', 'disputed')$$,
  'every state of the machine is a payment_status the column takes');
select is((select count(*)::int from (select distinct from_status, to_status from app.investment_transitions()) x),
  (select count(*)::int from app.investment_transitions()), 'each transition listed once');

select * from finish();
rollback;
