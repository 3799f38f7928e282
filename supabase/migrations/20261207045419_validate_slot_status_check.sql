-- The slot status check, added NOT VALID by the previous migration, validated (a read of the
-- slots under a lock that lets reads and writes go on).
ALTER TABLE "app"."ros_slots" VALIDATE CONSTRAINT "ros_slots_status_check";
