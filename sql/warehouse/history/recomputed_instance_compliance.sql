-- history.recomputed_instance_compliance(known_at, from_load, scope := null)
-- Grain: one row per version of history.instance_compliance that starts at or after from_at, or is
-- open at from_at, for each instance of history.changed_instances(known_at, from_load); the
-- versions that replace them. Same columns as history.instance_compliance.
-- How: the "seed" is the stored version that is open at from_at (valid_from < from_at and
-- valid_to null or >= from_at): it holds the item just before from_at, so its start and its
-- attributes cannot change. The seed is followed by the items captured at or after from_at that
-- are known at known_at, in item order (capture time, numeric state id, state id, ci_id); a
-- version starts where the tracked attributes differ from the previous row's. Cost grows with
-- the items from from_at on, not with the instance's whole history.
-- Tracked attributes: is_deleted, is_recorded, has_patch_map and every compliance attribute and
-- count. A ResourceNotRecorded item (is_recorded = false, not deleted, attributes null) starts a
-- version like any change does. Rows written before unknown_count / is_recorded existed (an
-- upgraded warehouse) read as they were meant: unknown_count 0 where there is a patch map (unknown
-- states were rejected then), is_recorded true.
-- Reads: history.changed_instances, history.instance_compliance, staging.instance_snapshots,
-- landing.configuration_items. Parameters: as for history.changed_instances. An item with
-- conflicting variants is known from when its first variant landed (the earliest ingested_at).
create or replace macro history.recomputed_instance_compliance(known_at, from_load, scope := null) as table
with
changed as (select * from history.changed_instances(known_at, from_load, scope := scope)),
instance_compliance as (select * from history.instance_compliance),
snapshots as (select * from staging.instance_snapshots),
known_items as (
    select l.ci_id, min(l.ingested_at) as ingested_at,
    from landing.configuration_items as l
    join changed as c using (account_id, aws_region, instance_id)
    where l.captured_at >= c.from_at
        and l.ingested_at <= cast(known_at as timestamptz)
    group by l.ci_id
),
window_items as (
    select s.*, k.ingested_at as recorded_at,
    from snapshots as s
    join changed as c using (account_id, aws_region, instance_id)
    join known_items as k using (ci_id)
    where s.captured_at >= c.from_at
),
seeds as (
    select h.*
    from instance_compliance as h
    join changed as c using (account_id, aws_region, instance_id)
    where h.valid_from < c.from_at and (h.valid_to is null or h.valid_to >= c.from_at)
),
sequence as (
    select
        account_id, aws_region, instance_id, valid_from as captured_at,
        null::bigint as state_order, null::varchar as state_id, ci_id, item_status, recorded_at,
        is_deleted, has_patch_map, compliance_status, overall_severity, baseline_id, patch_group,
        execution_type, patch_count, installed_count, installed_other_count,
        installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count,
        not_applicable_count, available_security_update_count, non_compliant_critical_count,
        non_compliant_high_count, non_compliant_medium_count, non_compliant_low_count,
        non_compliant_informational_count, non_compliant_unspecified_count,
        case when has_patch_map then coalesce(unknown_count, 0) end as unknown_count,
        coalesce(is_recorded, true) as is_recorded,
    from seeds
    union all
    select
        account_id, aws_region, instance_id, captured_at,
        try_cast(state_id as bigint) as state_order, state_id, ci_id, item_status, recorded_at,
        is_deleted, has_patch_map, compliance_status, overall_severity, baseline_id, patch_group,
        execution_type, patch_count, installed_count, installed_other_count,
        installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count,
        not_applicable_count, available_security_update_count, non_compliant_critical_count,
        non_compliant_high_count, non_compliant_medium_count, non_compliant_low_count,
        non_compliant_informational_count, non_compliant_unspecified_count,
        case when has_patch_map then coalesce(unknown_count, 0) end as unknown_count,
        coalesce(is_recorded, true) as is_recorded,
    from window_items
),
tracked as (
    select
        *,
        struct_pack(
            is_deleted, has_patch_map, compliance_status, overall_severity, baseline_id,
            patch_group, execution_type, patch_count, installed_count, installed_other_count,
            installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count,
            not_applicable_count, available_security_update_count, non_compliant_critical_count,
            non_compliant_high_count, non_compliant_medium_count, non_compliant_low_count,
            non_compliant_informational_count, non_compliant_unspecified_count, unknown_count,
            is_recorded
        ) as attributes,
    from sequence
),
flagged as (
    select
        *,
        case when attributes is not distinct from lag(attributes) over item_order then 0 else 1 end
            as is_version_start,
    from tracked
    window item_order as (
        partition by account_id, aws_region, instance_id
        order by captured_at, state_order, state_id, ci_id
    )
),
version_starts as (
    select
        *,
        lead(captured_at) over (
            partition by account_id, aws_region, instance_id
            order by captured_at, state_order, state_id, ci_id
        ) as next_version_from,
    from flagged
    where is_version_start = 1
),
versions as (
    select
        account_id,
        aws_region,
        instance_id,
        captured_at as valid_from,
        next_version_from as valid_to,
        next_version_from is null as is_current,
        is_deleted,
        ci_id,
        item_status,
        recorded_at,
        has_patch_map,
        compliance_status,
        overall_severity,
        baseline_id,
        patch_group,
        execution_type,
        patch_count,
        installed_count,
        installed_other_count,
        installed_pending_reboot_count,
        installed_rejected_count,
        missing_count,
        failed_count,
        not_applicable_count,
        available_security_update_count,
        non_compliant_critical_count,
        non_compliant_high_count,
        non_compliant_medium_count,
        non_compliant_low_count,
        non_compliant_informational_count,
        non_compliant_unspecified_count,
        unknown_count,
        is_recorded,
    from version_starts
)
select * from versions
