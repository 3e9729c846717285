-- spark lake/instance_compliance_versions
-- Grain: one row per version of instance_compliance without valid_to and is_current (immutable once
-- written): the lake dataset of sql/warehouse/publish/instance_compliance_versions.sql.
-- Partition: valid_from_month (yyyy-MM, UTC).
-- Reads: temp view instance_compliance.
with
history as (select * from instance_compliance),
versions as (
    select
        account_id, aws_region, instance_id, valid_from, is_deleted, ci_id, item_status,
        recorded_at, has_patch_map, compliance_status, overall_severity, baseline_id,
        patch_group, execution_type, patch_count, installed_count, installed_other_count,
        installed_pending_reboot_count, installed_rejected_count, missing_count,
        failed_count, not_applicable_count, available_security_update_count,
        non_compliant_critical_count, non_compliant_high_count, non_compliant_medium_count,
        non_compliant_low_count, non_compliant_informational_count,
        non_compliant_unspecified_count, unknown_count, is_recorded,
        date_format(valid_from, 'yyyy-MM') as valid_from_month
    from history
)
select * from versions
