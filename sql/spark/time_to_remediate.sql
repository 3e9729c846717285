-- spark time_to_remediate
-- Grain: one row per (severity, account_id), plus account_id = 'all' per severity: remediated
-- episodes (closed by an install) and the mean, median, 90th percentile (linear interpolation,
-- as DuckDB quantile_cont) and maximum of their duration in days, rounded to 6 decimals as the
-- lake publishes them (sql/warehouse/publish/time_to_remediate.sql).
-- Reads: temp view remediation_episodes.
with
episodes as (select * from remediation_episodes),
remediated as (
    select * from episodes where is_remediated
),
stats as (
    select
        severity,
        coalesce(account_id, 'all') as account_id,
        count(*) as remediated_episodes,
        round(avg(duration_days), 6) as mean_days,
        round(percentile(duration_days, 0.5), 6) as median_days,
        round(percentile(duration_days, 0.9), 6) as p90_days,
        round(max(duration_days), 6) as max_days
    from remediated
    group by grouping sets ((severity, account_id), (severity))
)
select * from stats
