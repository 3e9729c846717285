-- publish/instance_compliance_closures (query, not an object)
-- Grain: one row per closed version of history.instance_compliance: its key and valid_to.
-- A version still open has no row (valid_to null, is_current true).
-- Partition: valid_to_month (yyyy-mm, UTC): a day's closures all land in the current month.
-- Reads: history.instance_compliance.
with
instance_compliance as (select * from history.instance_compliance),
closures as (
    select
        account_id,
        aws_region,
        instance_id,
        valid_from,
        ci_id,
        valid_to,
        strftime(valid_to, '%Y-%m') as valid_to_month,
    from instance_compliance
    where valid_to is not null
)
select * from closures
