-- landing.source_objects
-- Grain: one row per (uri, sha256 or etag) ever read: a local file, an S3 object, a Lake query.
-- Incremental runs skip any object already recorded with the same content hash.
create table if not exists landing.source_objects (
    source varchar not null,             -- file | lake | lake_export | config_delivery
    uri varchar not null,                -- absolute path, s3://bucket/key, or lake query id
    sha256 varchar,                      -- hex SHA-256 of the bytes (files)
    etag varchar,                        -- S3 ETag (S3 objects)
    size_bytes bigint,
    format varchar,                      -- config_delivery | lake_export | lake_events | unsupported
    status varchar not null,             -- landed | rejected | ignored
    items_read bigint,
    items_landed bigint,
    items_duplicate bigint,
    items_skipped bigint,
    items_rejected bigint,
    error varchar,
    load_id bigint not null,
    recorded_at timestamptz not null,
);
