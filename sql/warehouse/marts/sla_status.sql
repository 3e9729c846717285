-- marts.sla_status(as_of, policy, known_at := 'infinity')
-- Grain: as marts.sla_status_for, with the thresholds of the stored policy named `policy`
-- (marts.sla_policies: a preset such as 'pci-dss-4.0', 'fedramp', 'internal', or a loaded file).
-- Reads: marts.sla_policies, marts.sla_status_for. Parameters: as_of, known_at (timestamptz),
-- policy (varchar).
create or replace macro marts.sla_status(as_of, policy, known_at := 'infinity') as table
select * from marts.sla_status_for(
    as_of,
    (
        select list(struct_pack(severity, max_days, severity_source) order by severity)
        from marts.sla_policies
        where policy_name = policy
    ),
    known_at := known_at
)
