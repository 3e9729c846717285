-- marts.sla_status(as_of, policy, known_at := 'infinity')
-- Grain: as marts.sla_status_for, with the thresholds of the stored policy named `policy`
-- (marts.sla_policies: a preset such as 'pci-dss-4.0', 'fedramp', 'internal', or a loaded file).
-- An unknown policy name is an error that lists the stored names (never zero rows: a
-- dashboard would read that as "no breaches").
-- Reads: marts.sla_policies, marts.sla_status_for. Parameters: as_of, known_at (timestamptz),
-- policy (varchar).
create or replace macro marts.sla_status(as_of, policy, known_at := 'infinity') as table
select * from marts.sla_status_for(
    as_of,
    (
        select
            case
                when stored.thresholds is null then error(
                    'unknown SLA policy ''' || coalesce(policy, 'NULL') || '''; stored policies: '
                    || (select string_agg(distinct policy_name, ', ' order by policy_name)
                        from marts.sla_policies)
                    || ' (load yours with `patchtrail policies load FILE`)')
                else stored.thresholds
            end
        from (
            select list(struct_pack(severity, max_days, severity_source) order by severity)
                as thresholds
            from marts.sla_policies
            where policy_name = policy
        ) as stored
    ),
    known_at := known_at
)
