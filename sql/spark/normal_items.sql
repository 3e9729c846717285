-- spark normal_items
-- Grain: one row per record of any input (landed export, Config files, Lake events, Lake
-- exports): the normal form of transforms/items.py `normalise`, with reject_reason set (and the
-- rest unusable) when a required field is missing or malformed.
-- Times (capture and event) as transforms/items.py `parse_time` and `plausible_time`: ISO-8601
-- (Z or an offset, `T` or a space, any fraction; zone-less is UTC), or epoch seconds (epoch
-- milliseconds above 1e11) as numeric text, to the microsecond (half-even); times before
-- 2014-01-01 (AWS Config did not exist) or more than a day after the job's :recorded_at are
-- refused. Items of a landed export keep their landed times, unchecked.
-- Status: ResourceDeleted / ResourceDeletedNotRecorded delete the instance (is_deleted);
-- ResourceNotRecorded does not (is_recorded = false: recording stopped, compliance unknown).
-- None of the three carries a configuration (it is ignored if present).
-- ci_id = the first 32 hex digits of SHA-256 of account|region|resource id|capture time
-- (UTC, milliseconds, Z)|status|state id, as transforms/items.py `ci_id_of`.
-- Reads: temp view raw_items (the union of the input/*.sql views). Parameters: :recorded_at.
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
        regexp_replace(trim(capture_text), 'z$', 'Z') as capture_z,
        nullif(trim(event_time_text), '') as event_text,
        regexp_replace(trim(event_time_text), 'z$', 'Z') as event_z,
        trim(state_text) as state_trimmed,
        case when dialect = 'config_file' then 'awsAccountId' else 'accountId' end as account_field,
        case when dialect = 'lake_row' then 'ciCaptureTime' else 'configurationItemCaptureTime' end
            as capture_field,
        case when dialect = 'lake_row' then 'ciStatus' else 'configurationItemStatus' end as status_field,
        case when dialect = 'lake_row' then 'eventId' else 'eventID' end as event_id_field
    from raw
),
epochs as (
    select
        *,
        case when capture rlike '^[+-]?[0-9]{1,20}(\\.[0-9]{0,9})?$' then try_cast(capture as decimal(38, 9)) end
            as capture_epoch,
        case when event_text rlike '^[+-]?[0-9]{1,20}(\\.[0-9]{0,9})?$' then try_cast(event_text as decimal(38, 9)) end
            as event_epoch
    from trimmed
),
epoch_micros as (
    select
        *,
        bround(case when abs(capture_epoch) > 100000000000 then capture_epoch * 1000
                    else capture_epoch * 1000000 end, 0) as capture_micros,
        bround(case when abs(event_epoch) > 100000000000 then event_epoch * 1000
                    else event_epoch * 1000000 end, 0) as event_micros
    from epochs
),
timed as (
    select
        *,
        coalesce(
            captured_at_given,
            case
                when capture_epoch is not null then
                    case when abs(capture_micros) <= 253402300799999999
                        then timestamp_micros(cast(capture_micros as bigint)) end
                when capture_z rlike '^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ]|$)' then try_to_timestamp(capture_z)
            end
        ) as captured_at,
        coalesce(
            event_time_given,
            case
                when event_epoch is not null then
                    case when abs(event_micros) <= 253402300799999999
                        then timestamp_micros(cast(event_micros as bigint)) end
                when event_z rlike '^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ]|$)' then try_to_timestamp(event_z)
            end
        ) as event_time,
        case
            when state_trimmed is null or state_trimmed = '' then ''
            when state_trimmed rlike '^[0-9]{1,100}$' then regexp_replace(state_trimmed, '^0+(?=[0-9])', '')
            when state_trimmed rlike '^[0-9]{1,38}\\.0+$'
                then regexp_replace(regexp_replace(state_trimmed, '\\.0+$', ''), '^0+(?=[0-9])', '')
            else state_trimmed
        end as state_id
    from epoch_micros
),
checked as (
    select
        *,
        case
            when account_id is null or account_id = '' then concat(account_field, ' is missing')
            when account_id not rlike '^[0-9]{12}$'
                then concat(account_field, ' ''', account_id, ''' is not 12 digits')
            when aws_region is null or aws_region = '' then 'awsRegion is missing'
            when resource_type is null or trim(resource_type) = '' then 'resourceType is missing'
            when resource is null or resource = '' then 'resourceId is missing'
            when regexp_replace(resource, '^AWS::SSM::ManagedInstanceInventory/', '') = ''
                then concat('resourceId ''', resource, ''' names no instance')
            when status is null or status = '' then concat(status_field, ' is missing')
            when status not in ('OK', 'ResourceDiscovered', 'ResourceNotRecorded', 'ResourceDeleted',
                                'ResourceDeletedNotRecorded')
                then concat(status_field, ' ''', status, ''' is not one of [''OK'', ''ResourceDeleted'', ',
                            '''ResourceDeletedNotRecorded'', ''ResourceDiscovered'', ''ResourceNotRecorded'']')
            when capture is null or capture = '' then concat(capture_field, ' is missing')
            when captured_at is null and capture_epoch is not null
                then concat(capture_field, ' ''', capture_text, ''' is out of range')
            when captured_at is null
                then concat(capture_field, ' ''', capture_text, ''' is not an ISO-8601 time or epoch number')
            when captured_at_given is null and captured_at < timestamp'2014-01-01 00:00:00'
                then concat(capture_field, ' ', date_format(captured_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
                            ' is before 2014-01-01, when AWS Config did not exist')
            when captured_at_given is null and captured_at > cast(:recorded_at as timestamp) + interval 1 day
                then concat(capture_field, ' ', date_format(captured_at, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
                            ' is more than a day after the run started (',
                            date_format(cast(:recorded_at as timestamp), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"), ')')
            when event_text is not null and event_time is null and event_epoch is not null
                then concat('eventTime ''', event_time_text, ''' is out of range')
            when event_text is not null and event_time is null
                then concat('eventTime ''', event_time_text, ''' is not an ISO-8601 time or epoch number')
            when event_time_given is null and event_time < timestamp'2014-01-01 00:00:00'
                then concat('eventTime ', date_format(event_time, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
                            ' is before 2014-01-01, when AWS Config did not exist')
            when event_time_given is null and event_time > cast(:recorded_at as timestamp) + interval 1 day
                then concat('eventTime ', date_format(event_time, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"),
                            ' is more than a day after the run started (',
                            date_format(cast(:recorded_at as timestamp), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"), ')')
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
        status in ('ResourceDeleted', 'ResourceDeletedNotRecorded') as is_deleted,
        status != 'ResourceNotRecorded' as is_recorded,
        case
            when status in ('ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded')
            then null
            else configuration_json
        end as configuration_json,
        case
            when status in ('ResourceDeleted', 'ResourceDeletedNotRecorded', 'ResourceNotRecorded')
            then null
            else content_sha256_given
        end as content_sha256,
        nullif(trim(event_id), '') as event_id,
        event_time,
        ci_id_given is not null as is_landed,
        source,
        source_ref,
        record_ref,
        ingested_at,
        reject_reason
    from checked
)
select * from normal
