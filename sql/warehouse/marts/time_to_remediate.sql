-- marts.time_to_remediate
-- Grain: one row per (severity, account_id), plus account_id = 'all' per severity: time to
-- remediate over every remediated episode in the history,
-- marts.time_to_remediate_between('-infinity', 'infinity').
create or replace view marts.time_to_remediate as
with
stats as (select * from marts.time_to_remediate_between('-infinity', 'infinity'))
select * from stats
