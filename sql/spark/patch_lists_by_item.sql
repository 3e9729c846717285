-- spark patch_lists_by_item
-- Grain: one row per configuration item with the seed queries' five lists of patch ids, sorted
-- (marts.patch_lists_by_item): null lists without a patch map (deletions), eventTime = the Lake
-- eventTime when a copy came through Lake, else the capture time.
-- Reads: temp views configuration_items, instance_snapshots, patch_observations.
with
items as (select * from configuration_items),
snapshots as (select ci_id, has_patch_map from instance_snapshots),
lists as (
    select
        ci_id,
        array_sort(collect_list(case when state = 'Installed' then patch_id end)) as installed,
        array_sort(collect_list(case when state = 'InstalledOther' then patch_id end)) as installed_other,
        array_sort(collect_list(case when state = 'InstalledPendingReboot' then patch_id end))
            as installed_pending_reboot,
        array_sort(collect_list(case when state = 'Missing' then patch_id end)) as missing,
        array_sort(collect_list(case when state = 'Failed' then patch_id end)) as failed
    from patch_observations
    group by ci_id
),
empty as (select cast(array() as array<string>) as none),
joined as (
    select
        items.account_id as accountId,
        items.aws_region as awsRegion,
        items.instance_id as InstanceId,
        coalesce(items.event_time, items.captured_at) as eventTime,
        s.has_patch_map,
        case when s.has_patch_map then coalesce(lists.installed, empty.none) end as Installed,
        case when s.has_patch_map then coalesce(lists.installed_other, empty.none) end as InstalledOther,
        case when s.has_patch_map then coalesce(lists.installed_pending_reboot, empty.none) end
            as InstalledPendingReboot,
        case when s.has_patch_map then coalesce(lists.missing, empty.none) end as Missing,
        case when s.has_patch_map then coalesce(lists.failed, empty.none) end as Failed,
        items.ci_id
    from items
    join snapshots as s using (ci_id)
    left join lists using (ci_id)
    cross join empty
)
select * from joined
