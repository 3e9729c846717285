-- marts.account_summary
-- Grain: one row per account with live managed instances: the account now, with the
-- definitions of marts.fleet_summary. Instances: live managed instances, compliant by their
-- latest ComplianceSummary status; not_recorded: those whose latest item is ResourceNotRecorded
-- (AWS Config stopped recording them: compliance unknown, counted neither compliant nor
-- non-compliant, still in instances). Missing critical / high: rows of
-- marts.current_missing_patches (non-compliant patches as marts.is_non_compliant defines them,
-- at the data-as-of time) whose episode severity is CRITICAL / HIGH, the same rows the report
-- and `patchtrail status` count. Runs publish its least compliant rows as their "top
-- non-compliant accounts" table.
-- Reads: marts.current_instance_compliance, marts.current_missing_patches.
create or replace view marts.account_summary as
with
instances as (select * from marts.current_instance_compliance),
missing as (select * from marts.current_missing_patches),
instance_counts as (
    select
        account_id,
        count(*) as instances,
        count(*) filter (where compliance_status = 'COMPLIANT') as compliant,
        count(*) filter (where compliance_status = 'NON_COMPLIANT') as non_compliant,
        count(*) filter (where not coalesce(is_recorded, true)) as not_recorded,
    from instances
    group by account_id
),
missing_counts as (
    select
        account_id,
        count(*) filter (where severity = 'CRITICAL') as missing_critical_patches,
        count(*) filter (where severity = 'HIGH') as missing_high_patches,
    from missing
    group by account_id
),
summary as (
    select
        i.account_id,
        i.instances,
        i.compliant,
        i.non_compliant,
        i.not_recorded,
        round(100.0 * i.compliant / i.instances, 1) as compliance_pct,
        coalesce(m.missing_critical_patches, 0) as missing_critical_patches,
        coalesce(m.missing_high_patches, 0) as missing_high_patches,
    from instance_counts as i
    left join missing_counts as m using (account_id)
)
select * from summary
