-- spark seed/ssm-patch-compliance-selected-ec2-instance
-- Seed query 3: as seed query 1, for one instance id.
-- Reads: table or view patch_lists_by_item. Parameters: :instance_id (string).
with
items as (select * from patch_lists_by_item),
selected as (
    select accountId, awsRegion, InstanceId, eventTime, Installed, InstalledOther, InstalledPendingReboot, Missing, Failed
    from items
    where has_patch_map and InstanceId = :instance_id
)
select * from selected
