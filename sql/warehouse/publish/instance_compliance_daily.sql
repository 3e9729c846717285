-- publish/instance_compliance_daily (query, not an object)
-- Grain: one row per (snapshot_date, account_id, aws_region, instance_id): the compliance version
-- of each live instance at the end of each UTC day, from the first day with an item to the last.
-- Partition: snapshot_month (yyyy-mm): a day's increment lands in the current month.
-- Reads: history.instance_compliance. A BI-friendly daily series for the Parquet lake.
with
instance_compliance as (select * from history.instance_compliance),
span as (
    select
        min(valid_from)::date as first_day,
        max(valid_from)::date as last_day,
    from instance_compliance
),
days as (
    select unnest(generate_series(first_day, last_day, interval 1 day))::date as snapshot_date
    from span
),
valid_at_end_of_day as (
    select
        days.snapshot_date,
        i.* exclude (is_current, valid_to),
    from days
    join instance_compliance as i
        on i.valid_from < days.snapshot_date + interval 1 day
        and (i.valid_to is null or i.valid_to >= days.snapshot_date + interval 1 day)
    where not i.is_deleted
),
partitioned as (
    select
        *,
        strftime(snapshot_date, '%Y-%m') as snapshot_month,
    from valid_at_end_of_day
)
select * from partitioned
