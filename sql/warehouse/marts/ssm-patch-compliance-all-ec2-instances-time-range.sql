-- ssm_patch_compliance_all_ec2_instances_time_range(start_time, end_time)
-- Seed query 2: as seed query 1, for items with start_time < eventTime < end_time (exclusive).
create or replace macro ssm_patch_compliance_all_ec2_instances_time_range(start_time, end_time) as table
with
items as (select * from marts.patch_lists_by_item),
in_range as (
    select accountId, awsRegion, InstanceId, eventTime,
        Installed, InstalledOther, InstalledPendingReboot, Missing, Failed,
    from items
    where has_patch_map
        and eventTime > cast(start_time as timestamptz)
        and eventTime < cast(end_time as timestamptz)
)
select * from in_range
