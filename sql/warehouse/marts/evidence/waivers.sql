-- Evidence: the waiver register as stored, with whether each waiver was in force at $as_of.
-- Reads: marts.waivers. Parameters: $as_of (timestamptz).
with
waivers as (
    select
        * exclude (loaded_at),
        (in_force_from is null or in_force_from <= cast($as_of as timestamptz))
            and cast($as_of as timestamptz) < in_force_until as is_in_force,
    from marts.waivers
)
select * from waivers
order by waiver_id
