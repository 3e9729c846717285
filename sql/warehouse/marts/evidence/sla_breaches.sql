-- Evidence: SLA breaches. The patches missing at $as_of for longer than the policy allows,
-- not exempted by a waiver in force.
-- Reads: marts.sla_breaches_for. Parameters: $as_of, $known_at (timestamptz), $thresholds.
with
breaches as (
    select * from marts.sla_breaches_for($as_of, $thresholds, known_at := $known_at)
)
select * from breaches
order by account_id, aws_region, instance_id, patch_id
