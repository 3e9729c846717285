-- landing.rejected_records
-- Grain: one row per record (or whole file) that could not be used, with the reason and the
-- original payload. Nothing is dropped silently.
create table if not exists landing.rejected_records (
    load_id bigint not null,
    source varchar not null,
    source_ref varchar not null,         -- file path / s3 uri / query id
    record_ref varchar,                  -- item N / line N; null when the whole file was rejected
    reason varchar not null,
    payload varchar,                     -- the record text (binary payloads as base64:...)
    rejected_at timestamptz not null,
);
