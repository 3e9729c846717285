-- publish/sla_breaches (query, not an object)
-- Grain: one row per (account_id, aws_region, instance_id, patch_id) breaching the policy's SLA at
-- $as_of and not waived: the rows of marts.sla_breaches_for, labelled with the policy and the
-- valid time they answer, for the Parquet lake and PostgreSQL.
-- Reads: marts.sla_breaches_for. Parameters: as for publish/sla_status.
with
breaches as (select * from marts.sla_breaches_for($as_of, $thresholds)),
labelled as (
    select
        cast($policy_name as varchar) as policy_name,
        cast($policy_thresholds_sha256 as varchar) as policy_thresholds_sha256,
        cast($as_of as timestamptz) as as_of,
        breaches.*,
    from breaches
)
select * from labelled
