-- report/daily_compliance (query)
-- Grain: one row per UTC day from the first item to `$as_of`: managed instances and compliance %
-- across the fleet, summed from marts.compliance_by_day. Parameters: $as_of (timestamptz).
with
span as (
    select min(captured_at)::date as first_day, least(max(captured_at), $as_of)::date as last_day
    from staging.instance_snapshots
),
by_group as (
    select d.*
    from span, marts.compliance_by_day(span.first_day, span.last_day) as d
),
fleet as (
    select
        day,
        sum(managed_instances) as managed_instances,
        sum(compliant_instances) as compliant_instances,
        round(100.0 * sum(compliant_instances) / nullif(sum(managed_instances), 0), 1) as compliance_pct,
    from by_group
    group by day
)
select * from fleet order by day
