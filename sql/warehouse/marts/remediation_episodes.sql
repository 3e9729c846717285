-- marts.remediation_episodes
-- Grain: one row per remediation episode (account_id, aws_region, instance_id, patch_id,
-- episode_no) over the whole stored history: marts.remediation_episodes_as_of('infinity').
-- An episode still open has is_open = true and null closed_at / close_reason / duration_days.
create or replace view marts.remediation_episodes as
with
episodes as (select * from marts.remediation_episodes_as_of('infinity'))
select * from episodes
