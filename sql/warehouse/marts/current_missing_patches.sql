-- marts.current_missing_patches
-- Grain: one row per patch non-compliant now on a live instance:
-- marts.missing_patches_as_of(marts.data_as_of()), "now" being the warehouse's data-as-of time
-- (the latest capture time), so days_missing counts whole days up to that time.
-- Reads: marts.missing_patches_as_of, marts.data_as_of.
create or replace view marts.current_missing_patches as
with
missing as (select * from marts.missing_patches_as_of(marts.data_as_of()))
select * from missing
