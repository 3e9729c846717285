-- report/time_to_remediate (query)
-- Grain: one row per severity of the remediated episodes closed in [$period_start, $as_of)
-- (marts.time_to_remediate_between, all accounts): how many, the median, 90th percentile and
-- longest days from first seen missing to installed, and how many were within the policy's
-- threshold for that severity (null: the policy sets none).
-- Parameters: $period_start, $as_of (timestamptz), $thresholds (list of structs).
with
stats as (
    select * from marts.time_to_remediate_between($period_start, $as_of) where account_id = 'all'
),
policy as (select unnest($thresholds, recursive := true)),
episodes as (
    select severity, duration_days
    from marts.remediation_episodes
    where is_remediated
        and closed_at >= cast($period_start as timestamptz)
        and closed_at < cast($as_of as timestamptz)
),
within as (
    select e.severity, count(*) filter (where e.duration_days <= p.max_days) as within_sla,
    from episodes as e
    join policy as p using (severity)
    group by e.severity
),
joined as (
    select
        s.severity,
        s.remediated_episodes,
        round(s.median_days, 1) as median_days,
        round(s.p90_days, 1) as p90_days,
        round(s.max_days, 1) as longest_days,
        p.max_days as sla_days,
        w.within_sla,
    from stats as s
    left join policy as p using (severity)
    left join within as w using (severity)
)
select * from joined
order by list_position(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'], severity)
