-- The transfer check, added NOT VALID by the previous migration, validated over the existing rows
-- (a SHARE UPDATE EXCLUSIVE lock: reads and writes go on meanwhile).
alter table app.investments validate constraint transfer_matches_status;
