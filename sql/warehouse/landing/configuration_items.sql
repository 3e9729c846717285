-- landing.configuration_items
-- Grain: one row per variant of an AWS Config configuration item of type
-- AWS::SSM::PatchCompliance: per (ci_id, content_sha256).
-- ci_id = hash(account, region, resource id, capture time, item status, state id), so one item
-- arriving from several sources (Lake event, Lake export row, Config file) lands once.
-- content_sha256 = hash of its canonical configuration. Two items with the same ci_id and
-- different content (a conflict: AWS should never send one) both land; the one with the
-- smallest content_sha256 is the one staging and history use, whatever the order they came in
-- (see landing.item_conflicts). A row landed before content_sha256 existed has none, counts as
-- the same content as any later copy, and stays the one used.
-- Immutable: rows are only ever added (a later Lake copy may fill event_id/event_time).
create table if not exists landing.configuration_items (
    ci_id varchar not null,
    account_id varchar not null,
    aws_region varchar not null,
    resource_type varchar not null,
    resource_id varchar not null,
    instance_id varchar not null,
    captured_at timestamptz not null,    -- configurationItemCaptureTime: the valid time
    item_status varchar not null,        -- configurationItemStatus
    state_id varchar not null,           -- configurationStateId (epoch ms as text)
    configuration_json varchar,          -- the `configuration` JSON text of items landed before 0.3 (null since)
    event_id varchar,                    -- CloudTrail Lake eventID when it came through Lake
    event_time timestamptz,              -- CloudTrail Lake eventTime when it came through Lake
    dialect varchar not null,            -- lake_event | lake_row | config_file | config_api
    source varchar not null,
    source_ref varchar not null,         -- file path / s3 uri / query id of the first arrival
    record_ref varchar not null,         -- where in that source (item N, line N)
    ingested_at timestamptz not null,    -- when the warehouse learned it (recording time)
    load_id bigint not null,
    content_sha256 varchar,              -- hex SHA-256 of the canonical configuration (null: deletions)
    configuration_zstd blob,             -- the `configuration` JSON text, zstd (null for deletions)
);
alter table landing.configuration_items add column if not exists content_sha256 varchar;
alter table landing.configuration_items add column if not exists configuration_zstd blob;
