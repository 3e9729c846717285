-- marts.instance_compliance_as_of_known(as_of, known_at)
-- Grain: one row per instance live at valid time `as_of`, as known at recording time `known_at`:
-- the version valid at as_of (valid_from <= as_of < valid_to) in
-- marts.instance_compliance_known_at(known_at). Deleted instances are left out. Same columns as
-- history.instance_compliance. With known_at at or after the last ingestion it equals
-- marts.instance_compliance_as_of(as_of).
-- Reads: marts.instance_compliance_known_at. Parameters: as_of, known_at (timestamptz).
create or replace macro marts.instance_compliance_as_of_known(as_of, known_at) as table
with
known_versions as (select * from marts.instance_compliance_known_at(known_at)),
valid_at_as_of as (
    select *
    from known_versions
    where valid_from <= cast(as_of as timestamptz)
        and (valid_to is null or valid_to > cast(as_of as timestamptz))
        and not is_deleted
)
select * from valid_at_as_of
