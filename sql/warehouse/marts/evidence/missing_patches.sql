-- Evidence: missing patches. One row per patch non-compliant at $as_of on a live instance, as
-- known at $known_at, with first seen missing and days missing.
-- Reads: marts.missing_patches_as_of. Parameters: $as_of, $known_at (timestamptz).
with
missing as (
    select * from marts.missing_patches_as_of($as_of, known_at := $known_at)
)
select * from missing
order by account_id, aws_region, instance_id, patch_id
