-- The checks 20261122100001 added NOT VALID, validated in a transaction of their own: validation
-- scans the table under a lock that lets reads and writes continue.
ALTER TABLE "app"."investments" VALIDATE CONSTRAINT "investments_payment_status_check";

ALTER TABLE "app"."investments" VALIDATE CONSTRAINT "investments_reversal_check";
