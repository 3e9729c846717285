-- spark lake/instance_compliance_daily
-- Grain: one row per (snapshot_date, account_id, aws_region, instance_id) (the lake dataset of
-- sql/warehouse/publish/instance_compliance_daily.sql). Partition: snapshot_month (yyyy-MM).
-- Reads: temp view instance_compliance_daily.
with
daily as (select * from instance_compliance_daily),
partitioned as (
    select
        *,
        date_format(snapshot_date, 'yyyy-MM') as snapshot_month
    from daily
)
select * from partitioned
