-- spark remediation_episodes
-- Grain: one row per remediation episode (account_id, aws_region, instance_id, patch_id,
-- episode_no) over the whole history: marts.remediation_episodes (the definitions are in
-- sql/warehouse/marts/remediation_episodes_as_of.sql, as_of = known_at = infinity).
-- An episode is a maximal run of consecutive non-compliant patch versions (marts.is_non_compliant:
-- Missing, Failed, InstalledPendingReboot, InstalledRejected, or AvailableSecurityUpdate reported
-- NON_COMPLIANT). It closes as 'installed', 'not_applicable', 'unknown_state' (the next version's
-- state is Unknown), 'compliant', 'instance_deleted', 'not_recorded' (a ResourceNotRecorded item:
-- recording stopped) or 'not_reported'; only 'installed' is a remediation (is_remediated).
-- Durations in days are DuckDB's epoch(interval) / 86400: whole days and the rest, added as doubles.
-- Reads: temp views patch_state, instance_compliance.
with
patch_versions as (select * from patch_state),
instance_versions as (select * from instance_compliance),
seen as (
    select
        *,
        coalesce(
            state in ('Missing', 'Failed', 'InstalledPendingReboot', 'InstalledRejected')
            or (state = 'AvailableSecurityUpdate' and compliance_status = 'NON_COMPLIANT'),
            false
        ) as is_non_compliant,
        case severity
            when 'CRITICAL' then 5 when 'HIGH' then 4 when 'MEDIUM' then 3 when 'LOW' then 2
            when 'INFORMATIONAL' then 1 when 'UNSPECIFIED' then 0
        end as severity_rank,
        case upper(vendor_severity)
            when 'CRITICAL' then 'CRITICAL' when 'IMPORTANT' then 'HIGH' when 'HIGH' then 'HIGH'
            when 'MODERATE' then 'MEDIUM' when 'MEDIUM' then 'MEDIUM' when 'LOW' then 'LOW'
        end as vendor_level
    from patch_versions
),
episode_pairs as (
    select distinct account_id, aws_region, instance_id, patch_id
    from seen
    where is_non_compliant
),
relevant as (
    select s.*
    from seen as s
    left semi join episode_pairs as p
        on s.account_id = p.account_id and s.aws_region = p.aws_region
        and s.instance_id = p.instance_id and s.patch_id = p.patch_id
),
ordered as (
    select
        *,
        row_number() over patch_order as version_seq,
        lag(is_non_compliant) over patch_order as previous_non_compliant,
        lag(valid_to) over patch_order as previous_valid_to,
        lead(valid_from) over patch_order as next_valid_from,
        lead(state) over patch_order as next_state,
        lead(compliance_status) over patch_order as next_compliance_status,
        lead(ci_id) over patch_order as next_ci_id
    from relevant
    window patch_order as (
        partition by account_id, aws_region, instance_id, patch_id
        order by valid_from, valid_to nulls last
    )
),
non_compliant as (
    select
        *,
        case when coalesce(previous_non_compliant and previous_valid_to = valid_from, false) then 0 else 1 end
            as is_episode_start,
        case vendor_level
            when 'CRITICAL' then 4 when 'HIGH' then 3 when 'MEDIUM' then 2 when 'LOW' then 1
        end as vendor_rank
    from ordered
    where is_non_compliant
),
numbered as (
    select
        *,
        cast(sum(is_episode_start) over (
            partition by account_id, aws_region, instance_id, patch_id
            order by version_seq rows unbounded preceding
        ) as int) as episode_no
    from non_compliant
),
episodes as (
    select
        account_id,
        aws_region,
        instance_id,
        patch_id,
        episode_no,
        min(valid_from) as opened_at,
        min_by(ci_id, version_seq) as opened_ci_id,
        min_by(state, version_seq) as opened_state,
        min_by(recorded_at, version_seq) as recorded_at,
        max_by(state, version_seq) as state,
        max(valid_from) as state_since,
        max_by(severity, case when severity is not null then severity_rank end) as severity,
        max_by(vendor_severity, case when vendor_severity is not null then vendor_rank end)
            as vendor_severity,
        max_by(vendor_level, vendor_rank) as vendor_level,
        max_by(classification, version_seq) as classification,
        max_by(title, version_seq) as title,
        array_sort(array_distinct(flatten(collect_list(cve_ids)))) as cve_ids,
        max_by(baseline_id, version_seq) as baseline_id,
        max_by(patch_group, version_seq) as patch_group,
        count(*) as versions,
        max_by(valid_to, version_seq) as closed_at,
        max_by(next_valid_from, version_seq) as next_valid_from,
        max_by(next_state, version_seq) as next_state,
        max_by(next_compliance_status, version_seq) as next_compliance_status,
        max_by(next_ci_id, version_seq) as next_ci_id
    from numbered
    group by account_id, aws_region, instance_id, patch_id, episode_no
),
instance_ends as (
    select
        account_id, aws_region, instance_id, valid_from, ci_id,
        case when is_deleted then 'instance_deleted' else 'not_recorded' end as end_reason
    from instance_versions
    where is_deleted or not coalesce(is_recorded, true)
),
closed as (
    select
        e.*,
        case
            when e.closed_at is null then null
            when e.next_valid_from = e.closed_at and e.next_state in ('Installed', 'InstalledOther')
                then 'installed'
            when e.next_valid_from = e.closed_at and e.next_state = 'NotApplicable'
                then 'not_applicable'
            when e.next_valid_from = e.closed_at and e.next_state = 'Unknown'
                then 'unknown_state'
            when e.next_valid_from = e.closed_at then 'compliant'
            when t.ci_id is not null then t.end_reason
            else 'not_reported'
        end as close_reason,
        case when e.next_valid_from = e.closed_at then e.next_state end as closed_state,
        case
            when e.next_valid_from = e.closed_at then e.next_ci_id
            else t.ci_id
        end as closed_ci_id
    from episodes as e
    left join instance_ends as t
        on t.account_id = e.account_id
        and t.aws_region = e.aws_region
        and t.instance_id = e.instance_id
        and t.valid_from = e.closed_at
),
final as (
    select
        account_id,
        aws_region,
        instance_id,
        patch_id,
        episode_no,
        opened_at,
        opened_ci_id,
        opened_state,
        recorded_at,
        state,
        state_since,
        severity,
        vendor_severity,
        vendor_level,
        classification,
        title,
        cve_ids,
        baseline_id,
        patch_group,
        versions,
        closed_at is null as is_open,
        closed_at,
        closed_ci_id,
        close_reason,
        closed_state,
        coalesce(close_reason = 'installed', false) as is_remediated,
        (cast((unix_micros(closed_at) - unix_micros(opened_at)) div 86400000000 as double) * 86400e0
            + cast((unix_micros(closed_at) - unix_micros(opened_at)) % 86400000000 as double) / 1e6) / 86400e0 as duration_days
    from closed
)
select * from final
