-- marts.fleet_summary
-- Grain: one row: the fleet now. Instances = live managed instances; compliant by their latest
-- ComplianceSummary status; missing = current patch versions in state Missing or Failed.
create or replace view marts.fleet_summary as
with
instances as (select * from marts.current_instance_compliance),
patches as (select * from marts.current_patch_state),
instance_counts as (
    select
        count(*) as instances,
        count(*) filter (where compliance_status = 'COMPLIANT') as compliant,
        count(*) filter (where compliance_status = 'NON_COMPLIANT') as non_compliant,
    from instances
),
missing_counts as (
    select
        count(*) filter (where state in ('Missing', 'Failed') and severity = 'CRITICAL')
            as missing_critical_patches,
        count(*) filter (where state in ('Missing', 'Failed') and severity = 'HIGH')
            as missing_high_patches,
    from patches
),
rejected as (
    select count(*) as rejected_records from landing.rejected_records
),
summary as (
    select
        instances,
        compliant,
        non_compliant,
        round(100.0 * compliant / nullif(instances, 0), 1) as compliance_pct,
        missing_critical_patches,
        missing_high_patches,
        rejected_records,
    from instance_counts, missing_counts, rejected
)
select * from summary
