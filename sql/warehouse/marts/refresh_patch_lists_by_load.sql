-- Bring marts.patch_lists_by_item up to date after a load: add the rows of the items landed by
-- load $load_id or later (a row depends on its own item only, so older rows stand). The
-- CloudTrail Lake eventTime a later Lake copy fills into an older row is written where the copy
-- lands (landing/fill_event_ids.sql), so this step reads only the load's own items.
-- (The capture-time bound lets DuckDB skip the row groups of older observations.)
-- Parameters: $load_id (bigint).
delete from marts.patch_lists_by_item as m
using landing.configuration_items as i
where m.ci_id = i.ci_id and i.load_id >= $load_id;

insert into marts.patch_lists_by_item
with
items as (
    select
        i.ci_id,
        i.account_id,
        i.aws_region,
        i.instance_id,
        i.captured_at,
        coalesce(i.event_time, i.captured_at) as event_time,
    from landing.configuration_items as i
    where i.load_id >= $load_id
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
    where o.captured_at >= (select min(captured_at) from items)
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
select * from joined;
