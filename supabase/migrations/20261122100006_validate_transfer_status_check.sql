-- The status check 20261122100005 added NOT VALID, validated in a transaction of its own (the scan
-- runs under a lock that lets reads and writes continue).
ALTER TABLE "app"."token_transfers" VALIDATE CONSTRAINT "token_transfers_status_check";
