-- analytics/policy_thresholds (query, `patchtrail policies list`)
-- Grain: one row per (policy_name, severity_source): its thresholds as one line of text, most
-- severe first, and where the policy came from.   Reads: marts.sla_policies.
with
policies as (select * from marts.sla_policies),
thresholds as (
    select
        policy_name,
        severity_source,
        string_agg(severity || ' ' || max_days || ' d', ', ' order by list_position(
            ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'], severity
        )) as max_days,
        any_value(source) as source,
    from policies
    group by policy_name, severity_source
)
select * from thresholds
order by policy_name
