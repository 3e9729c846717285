-- marts.instance_compliance_as_of(as_of)
-- Grain: one row per instance live at valid time `as_of` (timestamptz; strings are read in the
-- session time zone, which patchtrail sets to UTC): the version valid at that instant.
create or replace macro marts.instance_compliance_as_of(as_of) as table
with
instance_compliance as (select * from history.instance_compliance),
valid_at_as_of as (
    select *
    from instance_compliance
    where valid_from <= cast(as_of as timestamptz)
        and (valid_to is null or valid_to > cast(as_of as timestamptz))
        and not is_deleted
)
select * from valid_at_as_of
