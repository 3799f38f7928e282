-- The checks re-added NOT VALID by the previous migration, validated over the existing rows (a
-- SHARE UPDATE EXCLUSIVE lock each: reads and writes go on meanwhile).
alter table app.accounts validate constraint accounts_kind_check;
alter table app.alert_channels validate constraint alert_channels_kind_check;
alter table app.alert_channels validate constraint alert_channels_name_check;
