-- ssm_patch_compliance_all_ec2_instances()
-- Seed query 1: every configuration item that has a patch map, with its five lists of patch ids.
create or replace macro ssm_patch_compliance_all_ec2_instances() as table
with
items as (select * from marts.patch_lists_by_item),
with_patch_map as (
    select accountId, awsRegion, InstanceId, eventTime,
        Installed, InstalledOther, InstalledPendingReboot, Missing, Failed,
    from items
    where has_patch_map
)
select * from with_patch_map
