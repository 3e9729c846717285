-- check/one_current_version
-- Invariant: every history key (instance; instance and patch) has at most one current version.
-- Grain of the result: one row per key that breaks it. Reads: check/history_versions (as `versions`).
with
versions as (select * from versions),
violations as (
    select
        history_table, account_id, aws_region, instance_id, patch_id,
        count(*) as current_versions,
    from versions
    where is_current
    group by all
    having count(*) > 1
)
select * from violations
