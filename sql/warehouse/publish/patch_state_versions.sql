-- publish/patch_state_versions (query, not an object)
-- Grain: one row per version of history.patch_state, without valid_to and is_current: immutable
-- once written, so the lake appends them.
-- Partition: valid_from_month (yyyy-mm, UTC). Join with publish/patch_state_closures on
-- (account_id, aws_region, instance_id, patch_id, valid_from, ci_id) to get history.patch_state.
-- Reads: history.patch_state.
with
patch_state as (select * from history.patch_state),
versions as (
    select
        * exclude (valid_to, is_current),
        strftime(valid_from, '%Y-%m') as valid_from_month,
    from patch_state
)
select * from versions
