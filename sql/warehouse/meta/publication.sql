-- meta.publication (in a published copy only)
-- Grain: one row: which warehouse the copy was published from, and when.
create schema if not exists meta;
create or replace table meta.publication (
    warehouse_id varchar not null,
    warehouse_path varchar not null,
    published_at timestamptz not null,
    last_load_id bigint,
    patchtrail_version varchar not null,
);
