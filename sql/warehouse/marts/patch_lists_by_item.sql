-- marts.patch_lists_by_item
-- Grain: one row per landed configuration item, with the seed queries' five lists of patch ids
-- (sorted by patch id). Patches in state Unknown (or InstalledRejected, NotApplicable,
-- AvailableSecurityUpdate) are in none of the lists, as in the AWS sample SQL; items without a
-- patch map (deletions, ResourceNotRecorded) have null lists. The base of the five seed-query
-- macros; refreshed for the affected items of each run by refresh_patch_lists_by_load.sql.
-- It is a table, not a view: DuckDB 2.0 refuses a macro parameter (instance_id) that has the
-- name of a column anywhere under a view it reads, and the seed macros take `instance_id`.
create table if not exists marts.patch_lists_by_item (
    accountId varchar not null,
    awsRegion varchar not null,
    InstanceId varchar not null,
    eventTime timestamptz not null,      -- Lake eventTime when it came through Lake, else capture time
    has_patch_map boolean not null,      -- false for deletions / ResourceNotRecorded: PatchResult null
    Installed varchar[],                 -- null when has_patch_map is false, as in the seed
    InstalledOther varchar[],
    InstalledPendingReboot varchar[],
    Missing varchar[],
    Failed varchar[],
    ci_id varchar not null,
);
