-- The checks 20261204200725 added NOT VALID, validated in a transaction of their own: validation
-- scans the table with a lock that lets writes through.
alter table app.investments validate constraint investments_refund_hold_check;
alter table app.paystack_events validate constraint paystack_events_source_check;
