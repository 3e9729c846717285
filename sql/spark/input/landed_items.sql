-- spark input/landed_items
-- Grain: one row per configuration item of a Parquet export of landing.configuration_items
-- (`patchtrail spark export`): already normal, validated and deduplicated by ci_id.
-- Reads: temp view landed_export (the export's files). Output: the columns of raw_items, with
-- the landed ci_id, capture time, event time and content hash kept as they are (the *_given
-- columns). An identity landed in several variants (a conflict) has one row per variant.
with
landed as (select * from landed_export),
raw as (
    select
        dialect,
        account_id as account_text,
        aws_region as region_text,
        resource_type,
        resource_id,
        date_format(captured_at, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'") as capture_text,
        item_status,
        state_id as state_text,
        configuration_json,
        event_id,
        date_format(event_time, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'") as event_time_text,
        source,
        source_ref,
        record_ref,
        ingested_at,
        ci_id as ci_id_given,
        captured_at as captured_at_given,
        event_time as event_time_given,
        content_sha256 as content_sha256_given
    from landed
)
select * from raw
