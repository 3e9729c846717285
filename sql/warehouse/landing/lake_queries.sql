-- landing.lake_queries
-- Grain: one row per CloudTrail Lake query patchtrail ran (one per window and store, more when
-- a failed window was split). What it cost is what it scanned: estimated_cost_usd =
-- bytes_scanned / 1e9 x the price per GB in force for the run.
create table if not exists landing.lake_queries (
    query_id varchar,                    -- null when StartQuery itself was refused
    event_data_store varchar not null,
    window_start timestamptz not null,   -- eventTime >= window_start
    window_end timestamptz not null,     -- eventTime < window_end
    status varchar not null,             -- FINISHED | FAILED | TIMED_OUT | CANCELLED | NOT_STARTED
    error varchar,                       -- the service's ErrorMessage (or the refusal)
    events_matched bigint,
    events_scanned bigint,
    bytes_scanned bigint,
    execution_ms bigint,
    rows_read bigint,
    estimated_cost_usd double,
    delivery_s3_uri varchar,
    delivery_status varchar,
    load_id bigint not null,
    recorded_at timestamptz not null,
);
