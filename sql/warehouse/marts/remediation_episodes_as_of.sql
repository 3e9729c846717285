-- marts.remediation_episodes_as_of(as_of, known_at := 'infinity', open_only := false)
-- Grain: one row per remediation episode of one patch on one instance
-- (account_id, aws_region, instance_id, patch_id, episode_no), as seen at valid time `as_of` in
-- the history known at recording time `known_at`.
-- An episode is a maximal run of consecutive patch versions in a non-compliant state, as
-- marts.is_non_compliant defines it (the one definition of "missing"). It opens at the first such version
-- (opened_at = first seen non-compliant) and closes at the first item that reports the patch
-- Installed/InstalledOther ('installed'), NotApplicable ('not_applicable'), a state AWS did not
-- define ('unknown_state': PatchState Unknown, see raw_state), another compliant state
-- ('compliant'), deletes the instance ('instance_deleted'), is ResourceNotRecorded
-- ('not_recorded': AWS Config stopped recording the instance, so whether the patch was ever
-- installed is unknown) or omits the patch ('not_reported'). Only 'installed' is a remediation
-- (is_remediated); the others end what the evidence shows without claiming a fix. A patch that turns non-compliant again opens a new episode (episode_no + 1).
-- "As seen at as_of": versions starting after as_of are ignored, and an end after as_of is not
-- yet known, so such an episode is open. severity / vendor_severity are the highest seen in the
-- episode up to as_of.
-- Only (instance, patch) pairs with a non-compliant version are windowed; with open_only, only
-- those non-compliant at as_of (the open episodes: what missing-patch and SLA queries need).
-- Reads: marts.patch_state_known_at, marts.instance_compliance_known_at, marts.is_non_compliant.
-- Parameters: as_of (timestamptz; 'infinity' = all history), known_at (timestamptz),
-- open_only (boolean).
create or replace macro marts.remediation_episodes_as_of(as_of, known_at := 'infinity',
                                                         open_only := false) as table
with
patch_versions as (select * from marts.patch_state_known_at(known_at)),
instance_versions as (select * from marts.instance_compliance_known_at(known_at)),
seen as (
    select
        * exclude (valid_to, is_current),
        case when valid_to <= cast(as_of as timestamptz) then valid_to end as valid_to,
        marts.is_non_compliant(state, compliance_status) as is_non_compliant,
        case severity
            when 'CRITICAL' then 5 when 'HIGH' then 4 when 'MEDIUM' then 3 when 'LOW' then 2
            when 'INFORMATIONAL' then 1 when 'UNSPECIFIED' then 0
        end as severity_rank,
        case upper(vendor_severity)
            when 'CRITICAL' then 'CRITICAL' when 'IMPORTANT' then 'HIGH' when 'HIGH' then 'HIGH'
            when 'MODERATE' then 'MEDIUM' when 'MEDIUM' then 'MEDIUM' when 'LOW' then 'LOW'
        end as vendor_level,
    from patch_versions
    where valid_from <= cast(as_of as timestamptz)
),
episode_pairs as (
    select distinct account_id, aws_region, instance_id, patch_id,
    from seen
    where is_non_compliant and (not open_only or valid_to is null)
),
relevant as (
    select *
    from seen
    semi join episode_pairs using (account_id, aws_region, instance_id, patch_id)
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
        lead(ci_id) over patch_order as next_ci_id,
    from relevant
    window patch_order as (
        partition by account_id, aws_region, instance_id, patch_id
        order by valid_from, valid_to nulls last
    )
),
non_compliant as (
    select
        *,
        case when previous_non_compliant and previous_valid_to = valid_from then 0 else 1 end
            as is_episode_start,
        case vendor_level
            when 'CRITICAL' then 4 when 'HIGH' then 3 when 'MEDIUM' then 2 when 'LOW' then 1
        end as vendor_rank,
    from ordered
    where is_non_compliant
),
numbered as (
    select
        *,
        cast(sum(is_episode_start) over (
            partition by account_id, aws_region, instance_id, patch_id
            order by version_seq rows unbounded preceding
        ) as integer) as episode_no,
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
        arg_min(ci_id, version_seq) as opened_ci_id,
        arg_min(state, version_seq) as opened_state,
        arg_min(recorded_at, version_seq) as recorded_at,
        arg_max(state, version_seq) as state,
        max(valid_from) as state_since,
        arg_max(severity, severity_rank) as severity,
        arg_max(vendor_severity, vendor_rank) as vendor_severity,
        arg_max(vendor_level, vendor_rank) as vendor_level,
        arg_max_null(classification, version_seq) as classification,
        arg_max_null(title, version_seq) as title,
        list_sort(list_distinct(flatten(list(cve_ids)))) as cve_ids,
        arg_max_null(baseline_id, version_seq) as baseline_id,
        arg_max_null(patch_group, version_seq) as patch_group,
        count(*) as versions,
        arg_max_null(valid_to, version_seq) as closed_at,
        arg_max_null(next_valid_from, version_seq) as next_valid_from,
        arg_max_null(next_state, version_seq) as next_state,
        arg_max_null(next_compliance_status, version_seq) as next_compliance_status,
        arg_max_null(next_ci_id, version_seq) as next_ci_id,
    from numbered
    group by account_id, aws_region, instance_id, patch_id, episode_no
),
instance_ends as (
    select
        account_id, aws_region, instance_id, valid_from, ci_id,
        case when is_deleted then 'instance_deleted' else 'not_recorded' end as end_reason,
    from instance_versions
    where (is_deleted or not coalesce(is_recorded, true))
        and valid_from <= cast(as_of as timestamptz)
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
        end as closed_ci_id,
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
        epoch(closed_at - opened_at) / 86400.0 as duration_days,
    from closed
)
select * from final
