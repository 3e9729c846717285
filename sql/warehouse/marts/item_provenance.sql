-- marts.item_provenance
-- Grain: one row per landed configuration item (ci_id): where its first copy came from. The
-- source object is the landing.source_objects row of the same load whose uri is the item's
-- source_ref (a file or S3 object), is its Lake export folder, or is the Lake window
-- (lake://<store>/<start>/<end>) holding the query the item came from. The Lake query is the
-- landing.lake_queries row of the same load with the item's query id (API rows, or results
-- delivered to S3 under .../<query id>/). Later copies of the same item
-- from other sources are counted in landing.source_objects (items_duplicate) but not listed here.
-- Reads: landing.configuration_items, landing.source_objects, landing.lake_queries.
create or replace view marts.item_provenance as
with
items as (
    select
        ci_id, account_id, aws_region, instance_id, captured_at, item_status, dialect, source,
        source_ref, record_ref, event_id, event_time, ingested_at, load_id,
        regexp_replace(source_ref, '/[^/]*$', '') as parent_ref,
        coalesce(
            nullif(regexp_extract(source_ref, '/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/[^/]*$', 1), ''),
            source_ref
        ) as query_ref,
    from landing.configuration_items
),
objects as (
    select load_id, uri, etag, sha256, format, size_bytes,
    from landing.source_objects
    qualify row_number() over (partition by load_id, uri order by recorded_at, status) = 1
),
queries as (
    select load_id, query_id, event_data_store, window_start, window_end, status,
    from landing.lake_queries
    where query_id is not null
    qualify row_number() over (partition by load_id, query_id order by recorded_at) = 1
),
by_uri as (
    select i.ci_id, o.uri, o.format, o.sha256, o.etag, o.size_bytes,
    from items as i
    join objects as o on o.load_id = i.load_id and o.uri = i.source_ref
),
by_folder as (
    select i.ci_id, o.uri, o.format, o.sha256, o.etag, o.size_bytes,
    from items as i
    join objects as o on o.load_id = i.load_id and o.uri = i.parent_ref
),
lake_windows as (
    select
        load_id, uri, format, sha256, etag, size_bytes,
        regexp_extract(uri, '^lake://([^/]+)/', 1) as event_data_store,
        cast(regexp_extract(uri, '^lake://[^/]+/([^/]+)/', 1) as timestamptz) as window_start,
        cast(regexp_extract(uri, '/([^/]+)$', 1) as timestamptz) as window_end,
    from objects
    where format = 'lake_window'
),
by_window as (
    select i.ci_id, w.uri, w.format, w.sha256, w.etag, w.size_bytes,
    from items as i
    join queries as q on q.load_id = i.load_id and q.query_id = i.query_ref
    join lake_windows as w
        on w.load_id = i.load_id
        and w.event_data_store = q.event_data_store
        and q.window_start >= w.window_start
        and q.window_end <= w.window_end
),
matched_objects as (
    select * from (
        select 1 as rank, * from by_uri
        union all
        select 2 as rank, * from by_folder
        union all
        select 3 as rank, * from by_window
    )
    qualify row_number() over (partition by ci_id order by rank, uri) = 1
),
matched_queries as (
    select i.ci_id, q.query_id, q.event_data_store, q.window_start, q.window_end,
    from items as i
    join queries as q on q.load_id = i.load_id and q.query_id = i.query_ref
),
provenance as (
    select
        i.ci_id,
        i.account_id,
        i.aws_region,
        i.instance_id,
        i.captured_at,
        i.item_status,
        i.source,
        i.dialect,
        i.source_ref,
        i.record_ref,
        i.event_id,
        i.event_time,
        i.ingested_at,
        i.load_id,
        o.uri as object_uri,
        o.format as object_format,
        o.sha256 as object_sha256,
        o.etag as object_etag,
        o.size_bytes as object_size_bytes,
        q.query_id as lake_query_id,
        q.event_data_store as lake_event_data_store,
        q.window_start as lake_window_start,
        q.window_end as lake_window_end,
    from items as i
    left join matched_objects as o using (ci_id)
    left join matched_queries as q using (ci_id)
)
select * from provenance
