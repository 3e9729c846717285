-- landing.lake_watermarks
-- Grain: one row per CloudTrail Lake event data store: every event with eventTime before
-- `watermark` has been read. Moved in the same transaction as the rows it covers, and only
-- over windows that all succeeded. The next run starts at watermark minus the overlap.
create table if not exists landing.lake_watermarks (
    event_data_store varchar not null,
    watermark timestamptz not null,
    load_id bigint not null,
    updated_at timestamptz not null,
);
