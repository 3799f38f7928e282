-- The KYC check 20261206195833 added NOT VALID, validated in a transaction of its own (the scan
-- runs under a lock that lets reads and writes continue).
ALTER TABLE "app"."profiles" VALIDATE CONSTRAINT "profiles_kyc_status_check";
