-- report/period_change (query)
-- Grain: one row per headline figure, at $previous and at $as_of: managed instances, compliant
-- %, missing critical and high patches (marts.missing_patches_as_of) and SLA breaches under
-- $thresholds (marts.sla_breaches_for). The report's KPIs are the `current` column.
-- Parameters: $as_of, $previous (timestamptz), $thresholds (list of structs).
with
instances_now as (select * from marts.instance_compliance_as_of($as_of)),
instances_then as (select * from marts.instance_compliance_as_of($previous)),
missing_now as (select * from marts.missing_patches_as_of($as_of)),
missing_then as (select * from marts.missing_patches_as_of($previous)),
breaches_now as (select count(*) as n from marts.sla_breaches_for($as_of, $thresholds)),
breaches_then as (select count(*) as n from marts.sla_breaches_for($previous, $thresholds)),
figures as (
    select 1 as position, 'managed instances' as figure,
        (select count(*) from instances_then)::double as previous,
        (select count(*) from instances_now)::double as current,
    union all
    select 2, 'compliant %',
        (select round(100.0 * count(*) filter (where compliance_status = 'COMPLIANT')
                      / nullif(count(*), 0), 1) from instances_then),
        (select round(100.0 * count(*) filter (where compliance_status = 'COMPLIANT')
                      / nullif(count(*), 0), 1) from instances_now)
    union all
    select 3, 'missing critical patches',
        (select count(*) filter (where severity = 'CRITICAL') from missing_then),
        (select count(*) filter (where severity = 'CRITICAL') from missing_now)
    union all
    select 4, 'missing high patches',
        (select count(*) filter (where severity = 'HIGH') from missing_then),
        (select count(*) filter (where severity = 'HIGH') from missing_now)
    union all
    select 5, 'SLA breaches', (select n from breaches_then), (select n from breaches_now)
)
select figure, previous, current, current - previous as change from figures order by position
