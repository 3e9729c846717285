-- landing.configuration_items
-- Grain: one row per AWS Config configuration item of type AWS::SSM::PatchCompliance.
-- Key: ci_id = hash(account, region, resource id, capture time, item status, state id), so one
-- item arriving from several sources (Lake event, Lake export row, Config file) lands once.
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
    configuration_json varchar,          -- the raw `configuration` JSON text (null for deletions)
    event_id varchar,                    -- CloudTrail Lake eventID when it came through Lake
    event_time timestamptz,              -- CloudTrail Lake eventTime when it came through Lake
    dialect varchar not null,            -- lake_event | lake_row | config_file | config_api
    source varchar not null,
    source_ref varchar not null,         -- file path / s3 uri / query id of the first arrival
    record_ref varchar not null,         -- where in that source (item N, line N)
    ingested_at timestamptz not null,    -- when the warehouse learned it (recording time)
    load_id bigint not null,
);
