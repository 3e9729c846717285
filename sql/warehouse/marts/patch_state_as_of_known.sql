-- marts.patch_state_as_of_known(as_of, known_at)
-- Grain: one row per (account_id, aws_region, instance_id, patch_id) valid at valid time `as_of`,
-- as known at recording time `known_at`: the versions of marts.patch_state_known_at(known_at)
-- with valid_from <= as_of < valid_to. Same columns as history.patch_state. With known_at at or
-- after the last ingestion it equals marts.patch_state_as_of(as_of).
-- Reads: marts.patch_state_known_at. Parameters: as_of, known_at (timestamptz).
create or replace macro marts.patch_state_as_of_known(as_of, known_at) as table
with
known_versions as (select * from marts.patch_state_known_at(known_at)),
valid_at_as_of as (
    select *
    from known_versions
    where valid_from <= cast(as_of as timestamptz)
        and (valid_to is null or valid_to > cast(as_of as timestamptz))
)
select * from valid_at_as_of
