-- marts.sla_status_for(as_of, thresholds, known_at := 'infinity')
-- Grain: one row per patch non-compliant at `as_of` (as in marts.missing_patches_as_of) whose
-- SLA severity has a threshold in `thresholds`, a list of
-- struct(severity varchar, max_days integer, severity_source varchar).
-- The SLA clock starts when the patch was first seen missing: due_at = first_seen_missing +
-- max_days days; is_breached = as_of > due_at. sla_severity is the episode's severity,
-- vendor_level or the higher of the two, as severity_source says. A waiver of marts.waivers in
-- force at as_of whose scope matches exempts the row (is_waived, waiver_ids).
-- Reads: marts.missing_patches_as_of, marts.waivers.
-- Parameters: as_of, known_at (timestamptz); thresholds (list of structs).
create or replace macro marts.sla_status_for(as_of, thresholds, known_at := 'infinity') as table
with
missing as (select * from marts.missing_patches_as_of(as_of, known_at)),
waivers as (select * from marts.waivers),
policy as (select unnest(thresholds, recursive := true)),
policy_source as (select min(severity_source) as severity_source from policy),
rated as (
    select
        m.*,
        case p.severity_source
            when 'vendor' then m.vendor_level
            when 'highest' then
                case
                    when coalesce(
                        list_position(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'],
                                      m.vendor_level), 0)
                        > coalesce(
                        list_position(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'],
                                      m.severity), 0)
                    then m.vendor_level
                    else m.severity
                end
            else m.severity
        end as sla_severity,
    from missing as m, policy_source as p
),
with_threshold as (
    select
        r.*,
        p.max_days,
        r.first_seen_missing + to_days(p.max_days) as due_at,
    from rated as r
    join policy as p on p.severity = r.sla_severity
),
in_force as (
    select *
    from waivers
    where (in_force_from is null or in_force_from <= cast(as_of as timestamptz))
        and cast(as_of as timestamptz) < in_force_until
),
waived as (
    select
        t.account_id, t.aws_region, t.instance_id, t.patch_id,
        list(w.waiver_id order by w.waiver_id) as waiver_ids,
    from with_threshold as t
    join in_force as w
        on (w.account_id is null or w.account_id = t.account_id)
        and (w.aws_region is null or w.aws_region = t.aws_region)
        and (w.patch_group is null or w.patch_group = t.patch_group)
        and (w.instance_id is null or w.instance_id = t.instance_id)
        and (w.patch_id is null or w.patch_id = t.patch_id)
        and (w.cve_id is null or list_contains(t.cve_ids, w.cve_id))
    group by t.account_id, t.aws_region, t.instance_id, t.patch_id
),
status as (
    select
        t.account_id,
        t.aws_region,
        t.instance_id,
        t.patch_id,
        t.state,
        t.sla_severity,
        t.severity,
        t.vendor_severity,
        t.classification,
        t.title,
        t.cve_ids,
        t.baseline_id,
        t.patch_group,
        t.first_seen_missing,
        t.days_missing,
        t.max_days,
        t.due_at,
        cast(as_of as timestamptz) > t.due_at as is_breached,
        case
            when cast(as_of as timestamptz) > t.due_at
            then cast(floor(epoch(cast(as_of as timestamptz) - t.due_at) / 86400) as integer)
        end as days_overdue,
        w.waiver_ids is not null as is_waived,
        coalesce(w.waiver_ids, []) as waiver_ids,
        t.episode_no,
        t.opened_ci_id,
    from with_threshold as t
    left join waived as w using (account_id, aws_region, instance_id, patch_id)
)
select * from status
