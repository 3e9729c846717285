-- spark lake/patch_state_versions
-- Grain: one row per version of patch_state without valid_to and is_current (immutable once
-- written): the lake dataset of sql/warehouse/publish/patch_state_versions.sql.
-- Partition: valid_from_month (yyyy-MM, UTC).
-- Reads: temp view patch_state.
with
history as (select * from patch_state),
versions as (
    select
        account_id, aws_region, instance_id, patch_id, valid_from, ci_id, recorded_at,
        state, compliance_status, severity, vendor_severity, classification, title,
        installed_at, cve_ids, baseline_id, patch_group, raw_state, installed_time_raw,
        date_format(valid_from, 'yyyy-MM') as valid_from_month
    from history
)
select * from versions
