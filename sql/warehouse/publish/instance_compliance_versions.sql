-- publish/instance_compliance_versions (query, not an object)
-- Grain: one row per version of history.instance_compliance, without the columns a later item
-- changes (valid_to, is_current): immutable once written, so the lake appends them.
-- Partition: valid_from_month (yyyy-mm, UTC). Join with publish/instance_compliance_closures on
-- (account_id, aws_region, instance_id, valid_from, ci_id) to get history.instance_compliance.
-- Reads: history.instance_compliance.
with
instance_compliance as (select * from history.instance_compliance),
versions as (
    select
        * exclude (valid_to, is_current),
        strftime(valid_from, '%Y-%m') as valid_from_month,
    from instance_compliance
)
select * from versions
