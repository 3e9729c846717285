-- Evidence: provenance. For every configuration item the other files cite (ci_id,
-- last_item_ci_id, opened_ci_id), where it came from: source object (file, S3 object, Lake
-- export) with its SHA-256 / ETag, CloudTrail Lake query and window, load and ingestion time.
-- Reads: marts.item_provenance. Parameters: $ci_ids (varchar[]).
with
cited as (
    select *
    from marts.item_provenance
    where ci_id in (select unnest(cast($ci_ids as varchar[])))
)
select * from cited
order by ci_id
