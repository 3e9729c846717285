-- spark seed/ssm-patch-compliance-selected-ec2-instance-time-range
-- Seed query 4: one instance, :start_time < eventTime < :end_time (exclusive).
-- Reads: table or view patch_lists_by_item.
-- Parameters: :instance_id (string), :start_time, :end_time (timestamp).
with
items as (select * from patch_lists_by_item),
selected_in_range as (
    select accountId, awsRegion, InstanceId, eventTime, Installed, InstalledOther, InstalledPendingReboot, Missing, Failed
    from items
    where has_patch_map
        and InstanceId = :instance_id
        and eventTime > cast(:start_time as timestamp)
        and eventTime < cast(:end_time as timestamp)
)
select * from selected_in_range
