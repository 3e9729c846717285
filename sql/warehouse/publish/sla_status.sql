-- publish/sla_status (query, not an object)
-- Grain: one row per (account_id, aws_region, instance_id, patch_id) missing at $as_of whose SLA
-- severity the policy covers: the rows of marts.sla_status_for (due date, breach, waivers),
-- labelled with the policy and the valid time they answer, for the Parquet lake and PostgreSQL.
-- Reads: marts.sla_status_for.
-- Parameters: $as_of (timestamptz: the warehouse's data-as-of time), $thresholds (the policy: list
-- of struct(severity, max_days, severity_source)), $policy_name, $policy_thresholds_sha256 (varchar).
with
status as (select * from marts.sla_status_for($as_of, $thresholds)),
labelled as (
    select
        cast($policy_name as varchar) as policy_name,
        cast($policy_thresholds_sha256 as varchar) as policy_thresholds_sha256,
        cast($as_of as timestamptz) as as_of,
        status.*,
    from status
)
select * from labelled
