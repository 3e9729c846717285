-- spark lake/patch_lists_by_item
-- Grain: one row per configuration item with the five lists (the lake dataset of
-- sql/warehouse/publish/patch_lists_by_item.sql). Partition: event_month (yyyy-MM of eventTime).
-- Reads: temp view patch_lists_by_item.
with
items as (select * from patch_lists_by_item),
partitioned as (
    select
        *,
        date_format(eventTime, 'yyyy-MM') as event_month
    from items
)
select * from partitioned
