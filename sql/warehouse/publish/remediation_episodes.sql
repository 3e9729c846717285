-- publish/remediation_episodes (query, not an object)
-- Grain: one row per remediation episode (account_id, aws_region, instance_id, patch_id,
-- episode_no): marts.remediation_episodes. A current dataset: replaced whole when it changes.
-- Reads: marts.remediation_episodes.
with
episodes as (select * from marts.remediation_episodes)
select * from episodes
