-- Evidence: warehouse fingerprint. What an evidence pack was computed from: the items known at
-- $known_at (count and SHA-256 of their sorted ci_ids), instances, the last load, the number of
-- succeeded loads, source objects and Lake queries recorded, and the waiver register's SHA-256.
-- Reads: landing.configuration_items, landing.loads, landing.source_objects,
-- landing.lake_queries, marts.waivers. Parameters: $known_at (timestamptz).
with
known_items as (
    select ci_id, account_id, aws_region, instance_id, ingested_at,
    from landing.configuration_items
    where ingested_at <= cast($known_at as timestamptz)
),
item_facts as (
    select
        count(*) as items,
        sha256(coalesce(string_agg(ci_id, ',' order by ci_id), '')) as items_sha256,
        count(distinct (account_id, aws_region, instance_id)) as instances,
        max(ingested_at) as last_ingested_at,
    from known_items
),
load_facts as (
    select
        max(load_id) filter (where status = 'succeeded') as last_load_id,
        count(*) filter (where status = 'succeeded') as loads_succeeded,
    from landing.loads
    where started_at <= cast($known_at as timestamptz)
),
object_facts as (
    select
        (select count(*) from landing.source_objects
         where recorded_at <= cast($known_at as timestamptz)) as source_objects,
        (select count(*) from landing.lake_queries
         where recorded_at <= cast($known_at as timestamptz)) as lake_queries,
        (select min(source_sha256) from marts.waivers) as waivers_sha256,
),
fingerprint as (
    select
        i.items, i.items_sha256, i.instances, l.last_load_id, i.last_ingested_at,
        l.loads_succeeded, o.source_objects, o.lake_queries, o.waivers_sha256,
    from item_facts as i, load_facts as l, object_facts as o
)
select * from fingerprint
