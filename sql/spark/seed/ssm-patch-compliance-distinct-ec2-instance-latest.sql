-- spark seed/ssm-patch-compliance-distinct-ec2-instance-latest
-- Seed query 5: the latest item per (account, region, instance) by eventTime; ties all kept
-- (rank). Like the seed it does not filter on the patch map: an instance whose latest item is
-- a deletion appears with null lists.
-- Reads: table or view patch_lists_by_item.
with
items as (select * from patch_lists_by_item),
ranked as (
    select
        *,
        rank() over (partition by accountId, awsRegion, InstanceId order by eventTime desc) as rnk
    from items
),
latest as (
    select accountId, awsRegion, InstanceId, eventTime, Installed, InstalledOther, InstalledPendingReboot, Missing, Failed
    from ranked
    where rnk = 1
)
select * from latest
