-- history/rebuild_counts (query, patchtrail/analytics/rebuild.py: what a rebuild recomputed)
-- Grain: one row.   Reads: staging.patch_observations, history.*.
select
    (select count(*) from staging.patch_observations) as patch_observations,
    (select count(*) from history.instance_compliance) as instance_versions,
    (select count(*) from history.patch_state) as patch_versions
