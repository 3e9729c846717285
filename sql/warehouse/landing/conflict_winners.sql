-- The variants staging must now hold, for the identities (ci_id) that got a conflicting variant
-- in this load: per ci_id the landed row with the smallest content_sha256, when it is not the
-- one staging held before the load (the smallest among rows of earlier loads).
-- Grain: one row per ci_id whose variant in use changes; the columns of landing/rebuild_items.sql.
-- Reads: landing.configuration_items, temp table run_conflicts. Parameters: $load_id.
with
variants as (
    select l.*
    from landing.configuration_items as l
    semi join run_conflicts using (ci_id)
),
ranked as (
    select
        *,
        min(coalesce(content_sha256, '')) over (partition by ci_id) as used,
        min(coalesce(content_sha256, '')) filter (where load_id < $load_id) over (partition by ci_id)
            as used_before,
    from variants
),
changed as (
    select *
    from ranked
    where coalesce(content_sha256, '') = used and used is distinct from used_before
)
select
    ci_id, event_id, event_time, account_id, aws_region, resource_type, resource_id,
    item_status, captured_at, state_id, configuration_json, configuration_zstd, source, source_ref,
    record_ref,
from changed
