-- publish/current_missing_patches (query, not an object)
-- Grain: one row per patch non-compliant on a live instance at $as_of, the warehouse's data-as-of
-- time (its latest capture time), not the clock: marts.missing_patches_as_of($as_of), labelled
-- with that time. days_missing counts whole days up to as_of, so an unchanged warehouse
-- publishes the same rows. A current dataset.
-- Reads: marts.missing_patches_as_of. Parameters: $as_of (timestamptz).
with
missing as (select * from marts.missing_patches_as_of($as_of)),
labelled as (
    select
        cast($as_of as timestamptz) as as_of,
        missing.*,
    from missing
)
select * from labelled
