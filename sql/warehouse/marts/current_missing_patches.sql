-- marts.current_missing_patches
-- Grain: one row per patch non-compliant now on a live instance: marts.missing_patches_as_of(now()).
-- days_missing counts whole days up to the moment of the query.
create or replace view marts.current_missing_patches as
with
missing as (select * from marts.missing_patches_as_of(now()))
select * from missing
