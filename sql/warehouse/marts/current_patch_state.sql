-- marts.current_patch_state
-- Grain: one row per (account_id, aws_region, instance_id, patch_id) as the latest item of a live
-- instance reports it. (Deleting an instance, or a ResourceNotRecorded item, closes all its patch
-- versions.) Patches in state Unknown are included, with their raw_state.
-- Reads: history.patch_state.
create or replace view marts.current_patch_state as
with
patch_state as (select * from history.patch_state),
current_versions as (
    select *
    from patch_state
    where is_current
)
select * from current_versions
