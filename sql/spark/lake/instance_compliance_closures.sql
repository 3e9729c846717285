-- spark lake/instance_compliance_closures
-- Grain: one row per closed version of instance_compliance: its key and valid_to (the lake dataset of
-- sql/warehouse/publish/instance_compliance_closures.sql). Partition: valid_to_month (yyyy-MM, UTC).
-- Reads: temp view instance_compliance.
with
history as (select * from instance_compliance),
closures as (
    select
        account_id, aws_region, instance_id,
        valid_from,
        ci_id,
        valid_to,
        date_format(valid_to, 'yyyy-MM') as valid_to_month
    from history
    where valid_to is not null
)
select * from closures
