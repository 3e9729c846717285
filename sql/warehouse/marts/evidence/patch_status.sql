-- Evidence: patch status. One row per (instance, patch) as valid at $as_of, as known at
-- $known_at: every patch the latest item of each live instance reported, in any state.
-- Reads: marts.patch_state_as_of_known. Parameters: $as_of, $known_at (timestamptz).
with
patches as (
    select * from marts.patch_state_as_of_known($as_of, $known_at)
)
select * from patches
order by account_id, aws_region, instance_id, patch_id
