-- Evidence: SLA status. Every patch missing at $as_of whose severity the policy covers, with its
-- due date, whether it breaches, and the waivers in force that exempt it.
-- Reads: marts.sla_status_for. Parameters: $as_of, $known_at (timestamptz), $thresholds (the
-- policy: list of struct(severity, max_days, severity_source)).
with
status as (
    select * from marts.sla_status_for($as_of, $thresholds, known_at := $known_at)
)
select * from status
order by account_id, aws_region, instance_id, patch_id
