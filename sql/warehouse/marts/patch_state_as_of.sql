-- marts.patch_state_as_of(as_of)
-- Grain: one row per (account_id, aws_region, instance_id, patch_id) valid at `as_of`.
create or replace macro marts.patch_state_as_of(as_of) as table
with
patch_state as (select * from history.patch_state),
valid_at_as_of as (
    select *
    from patch_state
    where valid_from <= cast(as_of as timestamptz)
        and (valid_to is null or valid_to > cast(as_of as timestamptz))
)
select * from valid_at_as_of
