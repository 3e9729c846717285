-- publish/patch_lists_by_item (query, not an object)
-- Grain: one row per landed configuration item with the seed queries' five lists (the base of
-- the five ssm_patch_compliance_* queries, which docs/bi.md gives for Athena, Trino and Spark).
-- Partition: event_month (yyyy-mm of eventTime, UTC).
-- Reads: marts.patch_lists_by_item.
with
items as (select * from marts.patch_lists_by_item),
partitioned as (
    select
        *,
        strftime(eventTime, '%Y-%m') as event_month,
    from items
)
select * from partitioned
