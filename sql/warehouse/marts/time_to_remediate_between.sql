-- marts.time_to_remediate_between(closed_from, closed_to)
-- Grain: one row per (severity, account_id) plus one per severity over all accounts
-- (account_id = 'all'): remediated episodes closed in [closed_from, closed_to) and the mean,
-- median and 90th percentile of their duration in days. Remediated = closed by an item that
-- reports the patch Installed or InstalledOther (close_reason 'installed'); episodes closed by
-- NotApplicable, deletion or omission are not remediations. Percentiles interpolate linearly
-- (quantile_cont). duration = closed_at - opened_at, the clock starting when first seen missing.
-- Reads: marts.remediation_episodes. Parameters: closed_from, closed_to (timestamptz).
create or replace macro marts.time_to_remediate_between(closed_from, closed_to) as table
with
episodes as (select * from marts.remediation_episodes),
remediated as (
    select *
    from episodes
    where is_remediated
        and closed_at >= cast(closed_from as timestamptz)
        and closed_at < cast(closed_to as timestamptz)
),
stats as (
    select
        severity,
        coalesce(account_id, 'all') as account_id,
        count(*) as remediated_episodes,
        avg(duration_days) as mean_days,
        quantile_cont(duration_days, 0.5) as median_days,
        quantile_cont(duration_days, 0.9) as p90_days,
        max(duration_days) as max_days,
    from remediated
    group by grouping sets ((severity, account_id), (severity))
)
select * from stats
