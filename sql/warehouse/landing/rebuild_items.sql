-- landing/rebuild_items (query, patchtrail/analytics/rebuild.py)
-- Grain: one row per ci_id: the variant in use (the smallest content_sha256), with the columns
-- patchtrail/warehouse/restage.py reads back as raw items (`landed_as_lake_rows`), in this order.
-- Reads: landing.configuration_items.
with
items as (select * from landing.configuration_items),
in_use as (
    select
        ci_id, event_id, event_time, account_id, aws_region, resource_type, resource_id,
        item_status, captured_at, state_id, configuration_json, configuration_zstd, source, source_ref,
        record_ref,
    from items
    qualify row_number() over (partition by ci_id order by coalesce(content_sha256, '')) = 1
)
select * from in_use
