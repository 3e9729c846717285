-- spark instance_compliance
-- Grain: one row per version of an instance's compliance (SCD type 2): history.instance_compliance
-- built from every item at once (what `patchtrail rebuild` gives). Key: (account_id, aws_region,
-- instance_id, valid_from). Items are ordered by capture time, numeric state id (non-numeric
-- last), state id, ci_id; a version starts where the tracked attributes differ from the
-- previous item's. A deletion is a version too (a tombstone: is_deleted, attributes null); so is
-- a ResourceNotRecorded item (is_recorded = false, not deleted, attributes null: compliance
-- unknown from here on). Tracked: is_deleted, has_patch_map, every compliance attribute and
-- count, unknown_count and is_recorded (history/recomputed_instance_compliance.sql).
-- Reads: temp views instance_snapshots, configuration_items (recorded_at = ingested_at).
with
snapshots as (select * from instance_snapshots),
items as (select ci_id, ingested_at as recorded_at from configuration_items),
tracked as (
    select
        s.*,
        i.recorded_at,
        try_cast(s.state_id as bigint) as state_order,
        struct(
            s.is_deleted, s.has_patch_map, s.compliance_status, s.overall_severity, s.baseline_id,
            s.patch_group, s.execution_type, s.patch_count, s.installed_count,
            s.installed_other_count, s.installed_pending_reboot_count, s.installed_rejected_count,
            s.missing_count, s.failed_count, s.not_applicable_count,
            s.available_security_update_count, s.non_compliant_critical_count,
            s.non_compliant_high_count, s.non_compliant_medium_count, s.non_compliant_low_count,
            s.non_compliant_informational_count, s.non_compliant_unspecified_count, s.unknown_count,
            s.is_recorded
        ) as attributes
    from snapshots as s
    join items as i using (ci_id)
),
flagged as (
    select
        *,
        case when attributes <=> lag(attributes) over item_order then 0 else 1 end
            as is_version_start
    from tracked
    window item_order as (
        partition by account_id, aws_region, instance_id
        order by captured_at, state_order nulls last, state_id, ci_id
    )
),
version_starts as (
    select
        *,
        lead(captured_at) over (
            partition by account_id, aws_region, instance_id
            order by captured_at, state_order nulls last, state_id, ci_id
        ) as next_version_from
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
        is_recorded
    from version_starts
)
select * from versions
