-- spark normal_items
-- Grain: one row per record of any input (landed export, Config files, Lake events, Lake
-- exports): the normal form of transforms/items.py `normalise`, with reject_reason set (and the
-- rest unusable) when a required field is missing or malformed.
-- ci_id = the first 32 hex digits of SHA-256 of account|region|resource id|capture time
-- (UTC, milliseconds, Z)|status|state id, as transforms/items.py `ci_id_of`.
-- Reads: temp view raw_items (the union of the input/*.sql views).
with
raw as (select * from raw_items),
trimmed as (
    select
        *,
        trim(account_text) as account_id,
        trim(region_text) as aws_region,
        trim(resource_id) as resource,
        trim(item_status) as status,
        trim(capture_text) as capture,
        trim(state_text) as state_trimmed
    from raw
),
timed as (
    select
        *,
        coalesce(
            captured_at_given,
            case
                when capture rlike '^-?[0-9]+(\\.[0-9]+)?$'
                then timestamp_micros(cast(round(cast(capture as double) * 1000000) as bigint))
                else try_to_timestamp(capture)
            end
        ) as captured_at,
        coalesce(event_time_given, try_to_timestamp(trim(event_time_text))) as event_time,
        case
            when state_trimmed is null or state_trimmed = '' then ''
            when state_trimmed rlike '^[0-9]+$' then cast(cast(state_trimmed as decimal(38, 0)) as string)
            when state_trimmed rlike '^[0-9]+\\.0+$'
                then cast(cast(state_trimmed as decimal(38, 0)) as string)
            else state_trimmed
        end as state_id
    from trimmed
),
checked as (
    select
        *,
        case
            when account_id is null or account_id = '' then 'accountId is missing'
            when account_id not rlike '^[0-9]{12}$'
                then concat('accountId ', account_id, ' is not 12 digits')
            when aws_region is null or aws_region = '' then 'awsRegion is missing'
            when resource_type is null or trim(resource_type) = '' then 'resourceType is missing'
            when resource is null or resource = '' then 'resourceId is missing'
            when status is null or status = '' then 'configurationItemStatus is missing'
            when status not in ('OK', 'ResourceDiscovered', 'ResourceNotRecorded', 'ResourceDeleted',
                                'ResourceDeletedNotRecorded')
                then concat('configurationItemStatus ', status, ' is not one of the item statuses')
            when capture is null or capture = '' then 'configurationItemCaptureTime is missing'
            when captured_at is null
                then concat('configurationItemCaptureTime ', capture, ' is not an ISO-8601 time')
            when event_time_text is not null and trim(event_time_text) != '' and event_time is null
                then concat('eventTime ', event_time_text, ' is not an ISO-8601 time')
        end as reject_reason
    from timed
),
normal as (
    select
        coalesce(
            ci_id_given,
            substr(sha2(concat_ws('|', account_id, aws_region, resource,
                                  date_format(captured_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
                                  status, state_id), 256), 1, 32)
        ) as ci_id,
        dialect,
        account_id,
        aws_region,
        trim(resource_type) as resource_type,
        resource as resource_id,
        regexp_replace(resource, '^AWS::SSM::ManagedInstanceInventory/', '') as instance_id,
        captured_at,
        status as item_status,
        state_id,
        status in ('ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded') as is_deleted,
        case
            when status in ('ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded')
            then null
            else configuration_json
        end as configuration_json,
        nullif(event_id, '') as event_id,
        event_time,
        source,
        source_ref,
        record_ref,
        ingested_at,
        reject_reason
    from checked
)
select * from normal
