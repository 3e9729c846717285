-- spark input/config_files
-- Grain: one row per configuration item of AWS Config delivery files (ConfigHistory /
-- ConfigSnapshot .json[.gz], `{"configurationItems": [...]}`), read by Spark directly.
-- Every field is read as text (from_json keeps an object as its JSON text), so
-- `configuration` is the raw JSON of the item's configuration.
-- Reads: temp view config_files (value: the file's text, source_ref: its path).
-- Output: the columns of raw_items; ingested_at is the job's :recorded_at.
with
files as (select * from config_files),
parsed as (
    select
        source_ref,
        from_json(value, 'configurationItems array<struct<awsAccountId: string, accountId: string,
            awsRegion: string, resourceType: string, resourceId: string,
            configurationItemCaptureTime: string, configurationItemStatus: string,
            configurationStateId: string, configuration: string>>') as body
    from files
),
items as (
    select source_ref, pos, ci
    from parsed
    lateral view posexplode(body.configurationItems) as pos, ci
),
raw as (
    select
        case when ci.awsAccountId is not null then 'config_file' else 'config_api' end as dialect,
        coalesce(ci.awsAccountId, ci.accountId) as account_text,
        ci.awsRegion as region_text,
        ci.resourceType as resource_type,
        ci.resourceId as resource_id,
        ci.configurationItemCaptureTime as capture_text,
        ci.configurationItemStatus as item_status,
        ci.configurationStateId as state_text,
        ci.configuration as configuration_json,
        cast(null as string) as event_id,
        cast(null as string) as event_time_text,
        'file' as source,
        source_ref,
        concat('item ', pos) as record_ref,
        cast(:recorded_at as timestamp) as ingested_at,
        cast(null as string) as ci_id_given,
        cast(null as timestamp) as captured_at_given,
        cast(null as timestamp) as event_time_given
    from items
)
select * from raw
