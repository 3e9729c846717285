-- spark input/lake_events
-- Grain: one row per CloudTrail Lake event (NDJSON, one event per line: eventID, eventTime,
-- eventData with the configuration item), read by Spark directly.
-- Reads: temp view lake_events (value: one line, source_ref: its file, line_no).
-- Output: the columns of raw_items; ingested_at is the job's :recorded_at.
with
lines as (select * from lake_events),
parsed as (
    select
        source_ref,
        line_no,
        from_json(value, 'eventID string, eventTime string, eventData struct<accountId: string,
            awsRegion: string, resourceType: string, resourceId: string,
            configurationItemCaptureTime: string, configurationItemStatus: string,
            configurationStateId: string, configurationitemstateid: string,
            configuration: string>') as event
    from lines
    where trim(value) != ''
),
raw as (
    select
        'lake_event' as dialect,
        event.eventData.accountId as account_text,
        event.eventData.awsRegion as region_text,
        event.eventData.resourceType as resource_type,
        event.eventData.resourceId as resource_id,
        event.eventData.configurationItemCaptureTime as capture_text,
        event.eventData.configurationItemStatus as item_status,
        coalesce(event.eventData.configurationStateId, event.eventData.configurationitemstateid)
            as state_text,
        event.eventData.configuration as configuration_json,
        event.eventID as event_id,
        event.eventTime as event_time_text,
        'file' as source,
        source_ref,
        concat('line ', line_no) as record_ref,
        cast(:recorded_at as timestamp) as ingested_at,
        cast(null as string) as ci_id_given,
        cast(null as timestamp) as captured_at_given,
        cast(null as timestamp) as event_time_given
    from parsed
)
select * from raw
