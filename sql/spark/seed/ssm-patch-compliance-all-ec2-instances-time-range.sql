-- spark seed/ssm-patch-compliance-all-ec2-instances-time-range
-- Seed query 2: as seed query 1, for items with :start_time < eventTime < :end_time (exclusive).
-- Reads: table or view patch_lists_by_item. Parameters: :start_time, :end_time (timestamp).
with
items as (select * from patch_lists_by_item),
in_range as (
    select accountId, awsRegion, InstanceId, eventTime, Installed, InstalledOther, InstalledPendingReboot, Missing, Failed
    from items
    where has_patch_map
        and eventTime > cast(:start_time as timestamp)
        and eventTime < cast(:end_time as timestamp)
)
select * from in_range
