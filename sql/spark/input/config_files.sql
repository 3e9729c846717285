-- spark input/config_files
-- Grain: one row per configuration item of AWS Config delivery files (ConfigHistory /
-- ConfigSnapshot .json[.gz], `{"configurationItems": [...]}`), read by Spark directly.
-- Each item is read as a map of text (from_json keeps an object as its JSON text), so
-- `configuration` is the raw JSON of the item's configuration, and field names match exactly:
-- the state id is the first present of configurationStateId, configurationStateID (2014
-- snapshot files), configurationItemStateId and configurationitemstateid (transforms/items.py
-- STATE_ID_FIELDS).
-- Reads: temp view config_files (value: the file's text, source_ref: its path).
-- Output: the columns of raw_items; ingested_at is the job's :recorded_at.
with
files as (select * from config_files),
parsed as (
    select
        source_ref,
        from_json(value, 'configurationItems array<map<string, string>>') as body
    from files
),
items as (
    select source_ref, pos, ci
    from parsed
    lateral view posexplode(body.configurationItems) as pos, ci
),
raw as (
    select
        case when map_contains_key(ci, 'awsAccountId') then 'config_file' else 'config_api' end as dialect,
        case when map_contains_key(ci, 'awsAccountId') then try_element_at(ci, 'awsAccountId')
            else try_element_at(ci, 'accountId') end as account_text,
        try_element_at(ci, 'awsRegion') as region_text,
        try_element_at(ci, 'resourceType') as resource_type,
        try_element_at(ci, 'resourceId') as resource_id,
        try_element_at(ci, 'configurationItemCaptureTime') as capture_text,
        try_element_at(ci, 'configurationItemStatus') as item_status,
        coalesce(
            nullif(try_element_at(ci, 'configurationStateId'), ''),
            nullif(try_element_at(ci, 'configurationStateID'), ''),
            nullif(try_element_at(ci, 'configurationItemStateId'), ''),
            nullif(try_element_at(ci, 'configurationitemstateid'), '')
        ) as state_text,
        try_element_at(ci, 'configuration') as configuration_json,
        cast(null as string) as event_id,
        cast(null as string) as event_time_text,
        'file' as source,
        source_ref,
        concat('item ', pos) as record_ref,
        cast(:recorded_at as timestamp) as ingested_at,
        cast(null as string) as ci_id_given,
        cast(null as timestamp) as captured_at_given,
        cast(null as timestamp) as event_time_given,
        cast(null as string) as content_sha256_given
    from items
)
select * from raw
