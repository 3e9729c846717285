-- ssm_patch_compliance_selected_ec2_instance_time_range(instance_id, start_time, end_time)
-- Seed query 4: one instance, start_time < eventTime < end_time (exclusive).
create or replace macro ssm_patch_compliance_selected_ec2_instance_time_range(
    instance_id, start_time, end_time
) as table
with
items as (select * from marts.patch_lists_by_item),
selected_in_range as (
    select accountId, awsRegion, InstanceId, eventTime,
        Installed, InstalledOther, InstalledPendingReboot, Missing, Failed,
    from items
    where has_patch_map
        and InstanceId = instance_id
        and eventTime > cast(start_time as timestamptz)
        and eventTime < cast(end_time as timestamptz)
)
select * from selected_in_range
