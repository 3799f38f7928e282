-- Demo data for `npm start` (not applied by the test stack). Runs once, on a fresh stack, as the
-- superuser: internal callers count as the service role.
begin;

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-8000-00000000a001', 'admin@example.com', '{"role":"admin"}'),
  ('00000000-0000-4000-8000-00000000b001', 'ada@example.com', '{}'),
  ('00000000-0000-4000-8000-00000000b002', 'bola@example.com', '{}');

-- Investors: KYC verified, wallets are anvil dev accounts 1 and 2.
update app.profiles set kyc_status = 'verified', wallet_address = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
 where user_id = '00000000-0000-4000-8000-00000000b001';
update app.profiles set kyc_status = 'verified', wallet_address = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc'
 where user_id = '00000000-0000-4000-8000-00000000b002';

select public.credit_funded_wallet('00000000-0000-4000-8000-00000000b001', 1000, 'seed-funding-ada');
select public.credit_funded_wallet('00000000-0000-4000-8000-00000000b002', 1000, 'seed-funding-bola');

select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-00000000b001","role":"authenticated"}', true);
select public.create_stake(100);
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8000-00000000b002","role":"authenticated"}', true);
select public.create_stake(250);
select set_config('request.jwt.claims', '', true);

-- Today's declaration: two 1 % slots a couple of minutes after start, so slots pay within minutes.
select public.admin_queue_distribution(
  ((date_trunc('minute', now()) + interval '2 minutes') at time zone app.business_tz())::date,
  jsonb_build_array(
    jsonb_build_object('slot_number', 1, 'ros_percentage', 1,
      'scheduled_for', date_trunc('minute', now()) + interval '2 minutes'),
    jsonb_build_object('slot_number', 2, 'ros_percentage', 1,
      'scheduled_for', least(date_trunc('minute', now()) + interval '3 minutes',
        (((date_trunc('minute', now()) + interval '2 minutes') at time zone app.business_tz())::date
          + interval '23 hours 59 minutes') at time zone app.business_tz()))),
  p_description => 'Seed: two demo slots');

commit;
