-- ssm_patch_compliance_selected_ec2_instance(instance_id)
-- Seed query 3: as seed query 1, for one instance id.
create or replace macro ssm_patch_compliance_selected_ec2_instance(instance_id) as table
with
items as (select * from marts.patch_lists_by_item),
selected as (
    select accountId, awsRegion, InstanceId, eventTime,
        Installed, InstalledOther, InstalledPendingReboot, Missing, Failed,
    from items
    where has_patch_map and InstanceId = instance_id
)
select * from selected
