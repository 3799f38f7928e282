-- A token's price, read both ways (13_tokenizations.sql): what base units cost, and the whole base
-- units an amount of kobo pays for, never more than the money covers.
begin;
select plan(6);

select is(app.price_of_tokens(row(null, null, null, null, 10.00, 'NGN', 0, null, null, null)::app.tokenizations, 3),
  30.00::numeric, 'three whole tokens at 10.00 cost 30.00');
select is(app.price_of_tokens(row(null, null, null, null, 10.00, 'NGN', 18, null, null, null)::app.tokenizations,
  2500000000000000000), 25.00::numeric, 'with 18 decimals, 2.5 tokens in base units cost 25.00');
select is(app.tokens_bought(row(null, null, null, null, 10.00, 'NGN', 0, null, null, null)::app.tokenizations, 2599),
  2::numeric, '25.99 buys two whole tokens at 10.00, never a third');
select is(app.tokens_bought(row(null, null, null, null, 10.00, 'NGN', 18, null, null, null)::app.tokenizations, 2501),
  2501000000000000000::numeric, 'with 18 decimals, 25.01 buys 2.501 tokens in base units');
select is(app.tokens_bought(row(null, null, null, null, 3.00, 'NGN', 0, null, null, null)::app.tokenizations, 100),
  0::numeric, '1.00 buys nothing at 3.00 a token');
select is((select count(*)::int from generate_series(1, 500) n
            cross join (values (0), (6), (18)) d(decimals)
            cross join (values (0.01), (7.33), (1000.00)) p(price)
           where app.tokens_bought(row(null, null, null, null, p.price, 'NGN', d.decimals, null, null, null)::app.tokenizations,
                   app.price_of_tokens(row(null, null, null, null, p.price, 'NGN', d.decimals, null, null, null)::app.tokenizations, n) * 100) <> n),
  0, 'what n base units cost buys back exactly n, for any price and number of decimals');

select * from finish();
rollback;
