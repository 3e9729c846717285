-- spark unique_items
-- Grain: one row per configuration item of type AWS::SSM::PatchCompliance (key ci_id) whose
-- fields are valid, before flattening (which may still reject it: see configuration_items).
-- The same item from several inputs (a Config file and a Lake export) is one row: its
-- configuration is the copy with the smallest content hash (deterministic for any input order):
-- a landed export's content_sha256, as landing.item_conflicts uses (the variant in use of an
-- identity landed with conflicting contents), else the SHA-256 of configuration_json. Its Lake
-- eventID/eventTime come from any copy that has them, and it was recorded when its earliest
-- copy was.
-- Reads: temp view normal_items.
with
items as (
    select * from normal_items
    where reject_reason is null and resource_type = 'AWS::SSM::PatchCompliance'
),
ranked as (
    select
        *,
        row_number() over (
            partition by ci_id
            order by coalesce(content_sha256,
                              case when is_landed then '' else sha2(coalesce(configuration_json, ''), 256) end),
                source_ref, record_ref
        ) as copy_no,
        max(event_id) over (partition by ci_id) as any_event_id,
        max(event_time) over (partition by ci_id) as any_event_time,
        min(ingested_at) over (partition by ci_id) as first_ingested_at
    from items
),
unique_items as (
    select
        ci_id, account_id, aws_region, resource_type, resource_id, instance_id, captured_at,
        item_status, state_id, is_deleted, is_recorded, configuration_json, content_sha256,
        coalesce(event_id, any_event_id) as event_id,
        coalesce(event_time, any_event_time) as event_time,
        dialect, source, source_ref, record_ref,
        first_ingested_at as ingested_at
    from ranked
    where copy_no = 1
)
select * from unique_items
