-- spark instance_compliance_daily
-- Grain: one row per (snapshot_date, account_id, aws_region, instance_id): the compliance version
-- of each live instance at the end of each UTC day, from the first day with an item to the last
-- (sql/warehouse/publish/instance_compliance_daily.sql). Each version is exploded into the days
-- it covers: valid_from < day + 1 and (valid_to null or valid_to >= day + 1), that is the days
-- from date(valid_from) to date(valid_to) - 1 (to the last day while current).
-- Reads: temp view instance_compliance (the session time zone is UTC).
with
instance_compliance as (select * from instance_compliance),
span as (
    select
        to_date(min(valid_from)) as first_day,
        to_date(max(valid_from)) as last_day
    from instance_compliance
),
covered as (
    select
        i.*,
        greatest(to_date(i.valid_from), span.first_day) as from_day,
        least(coalesce(date_sub(to_date(i.valid_to), 1), span.last_day), span.last_day) as to_day
    from instance_compliance as i
    cross join span
    where not i.is_deleted
),
days as (
    select
        explode(sequence(from_day, to_day, interval 1 day)) as snapshot_date,
        *
    from covered
    where from_day <= to_day
),
daily as (
    select
        snapshot_date,
        account_id, aws_region, instance_id, valid_from, is_deleted, ci_id, item_status,
        recorded_at, has_patch_map, compliance_status, overall_severity, baseline_id,
        patch_group, execution_type, patch_count, installed_count, installed_other_count,
        installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count,
        not_applicable_count, available_security_update_count, non_compliant_critical_count,
        non_compliant_high_count, non_compliant_medium_count, non_compliant_low_count,
        non_compliant_informational_count, non_compliant_unspecified_count, unknown_count,
        is_recorded
    from days
)
select * from daily
