-- report/sla_breaches (query)
-- Grain: one row per (instance, patch) breaching SLA policy $policy at $as_of, waivers applied.
-- Parameters: $as_of (timestamptz), $policy (varchar).
with
breaches as (select * from marts.sla_breaches($as_of, $policy))
select * from breaches order by days_missing desc, account_id, instance_id, patch_id limit 50
