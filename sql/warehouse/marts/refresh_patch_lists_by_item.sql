-- Recompute marts.patch_lists_by_item rows of the instances in temp table affected_instances.
delete from marts.patch_lists_by_item as m
using affected_instances as a
where m.accountId = a.account_id and m.awsRegion = a.aws_region and m.InstanceId = a.instance_id;

insert into marts.patch_lists_by_item
with
items as (
    select
        i.ci_id,
        i.account_id,
        i.aws_region,
        i.instance_id,
        coalesce(i.event_time, i.captured_at) as event_time,
    from landing.configuration_items as i
    semi join affected_instances as a using (account_id, aws_region, instance_id)
),
snapshots as (
    select ci_id, has_patch_map from staging.instance_snapshots
),
lists as (
    select
        o.ci_id,
        list(o.patch_id order by o.patch_id) filter (where o.state = 'Installed') as installed,
        list(o.patch_id order by o.patch_id) filter (where o.state = 'InstalledOther')
            as installed_other,
        list(o.patch_id order by o.patch_id) filter (where o.state = 'InstalledPendingReboot')
            as installed_pending_reboot,
        list(o.patch_id order by o.patch_id) filter (where o.state = 'Missing') as missing,
        list(o.patch_id order by o.patch_id) filter (where o.state = 'Failed') as failed,
    from staging.patch_observations as o
    semi join items using (ci_id)
    group by o.ci_id
),
joined as (
    select
        items.account_id as accountId,
        items.aws_region as awsRegion,
        items.instance_id as InstanceId,
        items.event_time as eventTime,
        snapshots.has_patch_map,
        case when snapshots.has_patch_map then coalesce(lists.installed, []) end as Installed,
        case when snapshots.has_patch_map then coalesce(lists.installed_other, []) end
            as InstalledOther,
        case when snapshots.has_patch_map then coalesce(lists.installed_pending_reboot, []) end
            as InstalledPendingReboot,
        case when snapshots.has_patch_map then coalesce(lists.missing, []) end as Missing,
        case when snapshots.has_patch_map then coalesce(lists.failed, []) end as Failed,
        items.ci_id,
    from items
    join snapshots using (ci_id)
    left join lists using (ci_id)
)
select * from joined
