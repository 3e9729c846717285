-- spark seed/ssm-patch-compliance-all-ec2-instances
-- Seed query 1 over the lake: every configuration item that has a patch map, with its five
-- lists of patch ids (main.ssm_patch_compliance_all_ec2_instances() in DuckDB).
-- Reads: table or view patch_lists_by_item.
with
items as (select * from patch_lists_by_item),
with_patch_map as (
    select accountId, awsRegion, InstanceId, eventTime, Installed, InstalledOther, InstalledPendingReboot, Missing, Failed
    from items
    where has_patch_map
)
select * from with_patch_map
