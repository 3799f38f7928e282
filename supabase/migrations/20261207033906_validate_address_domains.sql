-- The address and hash domains' checks, added NOT VALID by the previous migration, validated: a
-- read of each column that uses them, under a lock that lets reads and writes go on.
ALTER DOMAIN "app"."address" VALIDATE CONSTRAINT "address_check";
ALTER DOMAIN "app"."tx_hash" VALIDATE CONSTRAINT "tx_hash_check";
