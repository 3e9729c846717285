-- marts.fleet_summary
-- Grain: one row: the fleet now, the sum of marts.account_summary. Instances = live managed
-- instances; compliant by their latest ComplianceSummary status; not_recorded = instances whose
-- latest item is ResourceNotRecorded (compliance unknown); missing critical / high =
-- rows of marts.current_missing_patches of that severity (marts.is_non_compliant, at the
-- data-as-of time), as the report and `patchtrail status` count them.
create or replace view marts.fleet_summary as
with
accounts as (
    select
        coalesce(sum(instances), 0)::bigint as instances,
        coalesce(sum(compliant), 0)::bigint as compliant,
        coalesce(sum(non_compliant), 0)::bigint as non_compliant,
        coalesce(sum(not_recorded), 0)::bigint as not_recorded,
        coalesce(sum(missing_critical_patches), 0)::bigint as missing_critical_patches,
        coalesce(sum(missing_high_patches), 0)::bigint as missing_high_patches,
    from marts.account_summary
),
rejected as (
    select count(*) as rejected_records from landing.rejected_records
),
summary as (
    select
        instances,
        compliant,
        non_compliant,
        not_recorded,
        round(100.0 * compliant / nullif(instances, 0), 1) as compliance_pct,
        missing_critical_patches,
        missing_high_patches,
        rejected_records,
    from accounts, rejected
)
select * from summary
