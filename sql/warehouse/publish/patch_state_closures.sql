-- publish/patch_state_closures (query, not an object)
-- Grain: one row per closed version of history.patch_state: its key and valid_to (the capture
-- time of the item that reported the patch differently, left it out or deleted the instance).
-- Partition: valid_to_month (yyyy-mm, UTC).
-- Reads: history.patch_state.
with
patch_state as (select * from history.patch_state),
closures as (
    select
        account_id,
        aws_region,
        instance_id,
        patch_id,
        valid_from,
        ci_id,
        valid_to,
        strftime(valid_to, '%Y-%m') as valid_to_month,
    from patch_state
    where valid_to is not null
)
select * from closures
