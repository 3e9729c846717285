-- report/daily_missing (query)
-- Grain: one row per UTC day from the first item to $as_of: the missing critical and high
-- patches (instance x patch) at the end of the day, as marts.missing_patches_as_of counts them
-- (open remediation episodes, marts.is_non_compliant), seen at $as_of: the last day's figures
-- equal the report's KPIs. severity is the episode's highest up to $as_of.
-- Reads: staging.instance_snapshots, marts.remediation_episodes_as_of.
-- Parameters: $as_of (timestamptz).
with
span as (
    select min(captured_at)::date as first_day, least(max(captured_at), $as_of)::date as last_day
    from staging.instance_snapshots
),
days as (
    select
        cast(t.day as date) as day,
        least(timezone('UTC', cast(t.day as timestamp) + interval 1 day), $as_of) as day_end,
    from span, range(span.first_day, span.last_day + interval 1 day, interval 1 day) as t(day)
),
episodes as (
    select opened_at, closed_at, severity
    from marts.remediation_episodes_as_of($as_of)
    where severity in ('CRITICAL', 'HIGH')
),
open_at_day_end as (
    select
        d.day,
        count(e.opened_at) filter (where e.severity = 'CRITICAL') as missing_critical,
        count(e.opened_at) filter (where e.severity = 'HIGH') as missing_high,
    from days as d
    left join episodes as e
        on e.opened_at <= d.day_end
        and (e.closed_at is null or e.closed_at > d.day_end)
    group by d.day
)
select * from open_at_day_end order by day
