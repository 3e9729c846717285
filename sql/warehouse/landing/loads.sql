-- landing.loads
-- Grain: one row per committed chunk of a run (ingest, rebuild): an ingest commits every few
-- thousand items, and its chunks share run_id. Written in the chunk's own transaction; a failed
-- chunk is rolled back and then recorded here with status 'failed' and its error (the chunks
-- committed before it stand).
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
    run_id varchar,                      -- the run this chunk belongs to (null before chunked runs)
    phases json,                         -- seconds per step of the run, on its last chunk
);
alter table landing.loads add column if not exists run_id varchar;
alter table landing.loads add column if not exists phases json;
