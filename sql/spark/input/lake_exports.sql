-- spark input/lake_exports
-- Grain: one row per row of saved CloudTrail Lake results (result_N.csv.gz of the extraction
-- query, sql/lake/extract_patch_compliance.sql), read by Spark's CSV reader directly.
-- The export's result_sign.json is not checked here (`patchtrail ingest` checks it).
-- Reads: temp view lake_exports (the CSV columns, source_ref: its file).
-- Output: the columns of raw_items; ingested_at is the job's :recorded_at.
with
rows as (select * from lake_exports),
raw as (
    select
        'lake_row' as dialect,
        accountId as account_text,
        awsRegion as region_text,
        'AWS::SSM::PatchCompliance' as resource_type,
        resourceId as resource_id,
        ciCaptureTime as capture_text,
        ciStatus as item_status,
        ciStateId as state_text,
        case when configurationJson in ('', 'null') then null else configurationJson end
            as configuration_json,
        nullif(eventId, '') as event_id,
        nullif(eventTime, '') as event_time_text,
        'file' as source,
        source_ref,
        concat('row ', row_no) as record_ref,
        cast(:recorded_at as timestamp) as ingested_at,
        cast(null as string) as ci_id_given,
        cast(null as timestamp) as captured_at_given,
        cast(null as timestamp) as event_time_given,
        cast(null as string) as content_sha256_given
    from rows
)
select * from raw
