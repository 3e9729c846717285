-- spark input/lake_events
-- Grain: one row per CloudTrail Lake event (NDJSON, one event per line: eventID, eventTime,
-- eventData with the configuration item), read by Spark directly. eventData is read as a map of
-- text, so field names match exactly: the state id is the first present of configurationStateId,
-- configurationStateID, configurationItemStateId (Lake's SQL schema) and configurationitemstateid
-- (as Lake lowercases it), as transforms/items.py STATE_ID_FIELDS.
-- Reads: temp view lake_events (value: one line, source_ref: its file, line_no).
-- Output: the columns of raw_items; ingested_at is the job's :recorded_at.
with
lines as (select * from lake_events),
parsed as (
    select
        source_ref,
        line_no,
        from_json(value, 'eventID string, eventTime string, eventData map<string, string>') as event
    from lines
    where trim(value) != ''
),
raw as (
    select
        'lake_event' as dialect,
        try_element_at(event.eventData, 'accountId') as account_text,
        try_element_at(event.eventData, 'awsRegion') as region_text,
        try_element_at(event.eventData, 'resourceType') as resource_type,
        try_element_at(event.eventData, 'resourceId') as resource_id,
        try_element_at(event.eventData, 'configurationItemCaptureTime') as capture_text,
        try_element_at(event.eventData, 'configurationItemStatus') as item_status,
        coalesce(
            nullif(try_element_at(event.eventData, 'configurationStateId'), ''),
            nullif(try_element_at(event.eventData, 'configurationStateID'), ''),
            nullif(try_element_at(event.eventData, 'configurationItemStateId'), ''),
            nullif(try_element_at(event.eventData, 'configurationitemstateid'), '')
        ) as state_text,
        try_element_at(event.eventData, 'configuration') as configuration_json,
        event.eventID as event_id,
        event.eventTime as event_time_text,
        'file' as source,
        source_ref,
        concat('line ', line_no) as record_ref,
        cast(:recorded_at as timestamp) as ingested_at,
        cast(null as string) as ci_id_given,
        cast(null as timestamp) as captured_at_given,
        cast(null as timestamp) as event_time_given,
        cast(null as string) as content_sha256_given
    from parsed
)
select * from raw
