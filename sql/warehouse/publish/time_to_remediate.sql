-- publish/time_to_remediate (query, not an object)
-- Grain: one row per (severity, account_id), plus account_id = 'all': marts.time_to_remediate.
-- The float aggregates are rounded to 6 decimals: parallel float aggregation can differ in the
-- last bits between runs, which would change the fingerprint of an unchanged dataset.
-- Reads: marts.time_to_remediate.
with
stats as (select * from marts.time_to_remediate),
rounded as (
    select
        * replace (
            round(mean_days, 6) as mean_days,
            round(median_days, 6) as median_days,
            round(p90_days, 6) as p90_days,
            round(max_days, 6) as max_days
        ),
    from stats
)
select * from rounded
