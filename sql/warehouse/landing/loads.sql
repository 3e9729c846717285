-- landing.loads
-- Grain: one row per run (ingest, rebuild). Written in the run's own transaction; a failed run
-- is rolled back and then recorded here with status 'failed' and its error.
create table if not exists landing.loads (
    load_id bigint not null,
    source varchar not null,             -- file | lake | lake_export | config_delivery | rebuild
    parameters json,                     -- what the run was asked to read (paths, window, ...)
    started_at timestamptz not null,
    finished_at timestamptz,
    status varchar not null,             -- succeeded | failed
    objects_seen bigint,
    objects_read bigint,
    objects_unchanged bigint,
    objects_rejected bigint,
    items_read bigint,
    items_landed bigint,
    items_duplicate bigint,
    items_skipped bigint,
    items_rejected bigint,
    instances_affected bigint,
    error varchar,
);
