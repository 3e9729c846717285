-- spark sla_status
-- Grain: one row per patch non-compliant at :as_of whose SLA severity the policy covers
-- (marts.sla_status_for, labelled as sql/warehouse/publish/sla_status.sql): due_at = first seen
-- missing + max_days days; is_breached = as_of > due_at; a waiver in force at as_of whose scope
-- matches exempts the row.
-- Reads: temp views current_missing_patches, sla_thresholds (severity, max_days,
-- severity_source), waivers (marts.waivers). Parameters: :as_of (timestamp), :policy_name,
-- :policy_thresholds_sha256 (string).
with
missing as (select * from current_missing_patches),
policy as (select * from sla_thresholds),
waivers as (select * from waivers),
policy_source as (select min(severity_source) as severity_source from policy),
rated as (
    select
        m.*,
        case p.severity_source
            when 'vendor' then m.vendor_level
            when 'highest' then
                case
                    when coalesce(array_position(array('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'),
                                                 m.vendor_level), 0)
                        > coalesce(array_position(array('INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'),
                                                  m.severity), 0)
                    then m.vendor_level
                    else m.severity
                end
            else m.severity
        end as sla_severity
    from missing as m
    cross join policy_source as p
),
with_threshold as (
    select
        r.*,
        p.max_days,
        r.first_seen_missing + make_interval(0, 0, 0, p.max_days) as due_at
    from rated as r
    join policy as p on p.severity = r.sla_severity
),
in_force as (
    select *
    from waivers
    where (in_force_from is null or in_force_from <= cast(:as_of as timestamp))
        and cast(:as_of as timestamp) < in_force_until
),
waived as (
    select
        t.account_id, t.aws_region, t.instance_id, t.patch_id,
        array_sort(collect_list(w.waiver_id)) as waiver_ids
    from with_threshold as t
    join in_force as w
        on (w.account_id is null or w.account_id = t.account_id)
        and (w.aws_region is null or w.aws_region = t.aws_region)
        and (w.patch_group is null or w.patch_group = t.patch_group)
        and (w.instance_id is null or w.instance_id = t.instance_id)
        and (w.patch_id is null or w.patch_id = t.patch_id)
        and (w.cve_id is null or array_contains(t.cve_ids, w.cve_id))
    group by t.account_id, t.aws_region, t.instance_id, t.patch_id
),
status as (
    select
        cast(:policy_name as string) as policy_name,
        cast(:policy_thresholds_sha256 as string) as policy_thresholds_sha256,
        cast(:as_of as timestamp) as as_of,
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
        cast(:as_of as timestamp) > t.due_at as is_breached,
        case
            when cast(:as_of as timestamp) > t.due_at
            then cast(floor((cast((unix_micros(cast(:as_of as timestamp)) - unix_micros(t.due_at)) div 86400000000 as double) * 86400e0
            + cast((unix_micros(cast(:as_of as timestamp)) - unix_micros(t.due_at)) % 86400000000 as double) / 1e6) / 86400e0) as int)
        end as days_overdue,
        w.waiver_ids is not null as is_waived,
        coalesce(w.waiver_ids, cast(array() as array<string>)) as waiver_ids,
        t.episode_no,
        t.opened_ci_id
    from with_threshold as t
    left join waived as w
        on w.account_id = t.account_id and w.aws_region = t.aws_region
        and w.instance_id = t.instance_id and w.patch_id = t.patch_id
)
select * from status
