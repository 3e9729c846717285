-- Recompute history.instance_compliance for the instances listed in temp table affected_instances
-- (account_id, aws_region, instance_id), from every staged item of those instances.
-- History is a pure function of the landed items: order, batching and repetition do not matter.
-- Items are ordered by capture time, then numeric state id, then ci_id (a total order).
-- Run after delete_affected_history.sql, inside the run's transaction.
insert into history.instance_compliance
with
snapshots as (
    select s.*
    from staging.instance_snapshots as s
    semi join affected_instances as a using (account_id, aws_region, instance_id)
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
            non_compliant_informational_count, non_compliant_unspecified_count
        ) as attributes,
    from snapshots
),
flagged as (
    select
        *,
        case when attributes is not distinct from lag(attributes) over item_order then 0 else 1 end
            as is_version_start,
    from tracked
    window item_order as (
        partition by account_id, aws_region, instance_id
        order by captured_at, try_cast(state_id as bigint), state_id, ci_id
    )
),
version_starts as (
    select
        *,
        lead(captured_at) over (
            partition by account_id, aws_region, instance_id
            order by captured_at, try_cast(state_id as bigint), state_id, ci_id
        ) as next_version_from,
    from flagged
    where is_version_start = 1
),
with_recorded_at as (
    select v.*, i.ingested_at as recorded_at
    from version_starts as v
    join landing.configuration_items as i using (ci_id)
)
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
from with_recorded_at
