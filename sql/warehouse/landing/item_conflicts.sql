-- landing.item_conflicts
-- Grain: one row per variant of a configuration item that arrived with different contents under
-- one identity (ci_id): AWS should never send such items, so each one is flagged here.
-- is_used marks the variant staging and history use: the smallest content_sha256 (a total order,
-- so the result never depends on the order the variants arrived in).
-- Reads: landing.configuration_items.
create or replace view landing.item_conflicts as
with
items as (select * from landing.configuration_items),
conflicting as (
    select ci_id
    from items
    group by ci_id
    having count(distinct coalesce(content_sha256, '')) > 1
),
variants as (
    select
        i.ci_id, i.account_id, i.aws_region, i.instance_id, i.captured_at, i.item_status,
        i.content_sha256, i.source, i.source_ref, i.record_ref, i.ingested_at, i.load_id,
        row_number() over (partition by i.ci_id order by coalesce(i.content_sha256, '')) = 1 as is_used,
    from items as i
    semi join conflicting using (ci_id)
)
select * from variants
