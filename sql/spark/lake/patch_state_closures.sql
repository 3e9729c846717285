-- spark lake/patch_state_closures
-- Grain: one row per closed version of patch_state: its key and valid_to (the lake dataset of
-- sql/warehouse/publish/patch_state_closures.sql). Partition: valid_to_month (yyyy-MM, UTC).
-- Reads: temp view patch_state.
with
history as (select * from patch_state),
closures as (
    select
        account_id, aws_region, instance_id, patch_id,
        valid_from,
        ci_id,
        valid_to,
        date_format(valid_to, 'yyyy-MM') as valid_to_month
    from history
    where valid_to is not null
)
select * from closures
