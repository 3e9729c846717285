-- spark instance_snapshots
-- Grain: one row per configuration item (ci_id): staging.instance_snapshots. Status, severity,
-- baseline, patch group, execution type and the *_critical_count ... counts come from the
-- ComplianceSummary entry; without one (but with a patch map) the first four are derived from
-- the patches (any non-compliant patch: NON_COMPLIANT, its worst Severity; baseline and group of
-- the first patch in map order) and the counts are null. Per-state counts (unknown_count: patches
-- in state Unknown; patch_count counts them too): null without a map. is_recorded is false for a
-- ResourceNotRecorded item (not deleted, no map, compliance unknown).
-- Reads: temp views configuration_items, item_contents, patch_entries, patch_observations,
-- patch_states.
with
items as (select * from configuration_items),
contents as (select ci_id, has_patch_map from item_contents),
summaries as (select ci_id, entry as s from patch_entries where is_summary),
observations as (select * from patch_observations),
states as (select * from patch_states),
per_item as (
    select
        o.ci_id,
        count(*) as patch_count,
        count_if(o.state = 'Installed') as installed_count,
        count_if(o.state = 'InstalledOther') as installed_other_count,
        count_if(o.state = 'InstalledPendingReboot') as installed_pending_reboot_count,
        count_if(o.state = 'InstalledRejected') as installed_rejected_count,
        count_if(o.state = 'Missing') as missing_count,
        count_if(o.state = 'Failed') as failed_count,
        count_if(o.state = 'NotApplicable') as not_applicable_count,
        count_if(o.state = 'AvailableSecurityUpdate') as available_security_update_count,
        count_if(o.state = 'Unknown') as unknown_count,
        bool_or(coalesce(st.is_non_compliant, false) or coalesce(o.compliance_status = 'NON_COMPLIANT', false))
            as any_failing,
        min(case when coalesce(st.is_non_compliant, false) or coalesce(o.compliance_status = 'NON_COMPLIANT', false)
            then coalesce(array_position(array('CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL',
                'UNSPECIFIED'), o.severity), 6) end) as worst_rank,
        min_by(o.baseline_id, o.pos) as first_baseline_id,
        min_by(o.patch_group, o.pos) as first_patch_group
    from observations as o
    left join states as st using (state)
    group by o.ci_id
),
joined as (
    select
        i.ci_id, i.account_id, i.aws_region, i.instance_id, i.captured_at, i.state_id,
        i.item_status, i.is_deleted, i.is_recorded,
        coalesce(c.has_patch_map, false) as has_patch_map,
        s.s as summary,
        p.patch_count,
        p.installed_count,
        p.installed_other_count,
        p.installed_pending_reboot_count,
        p.installed_rejected_count,
        p.missing_count,
        p.failed_count,
        p.not_applicable_count,
        p.available_security_update_count,
        p.unknown_count,
        p.any_failing,
        p.worst_rank,
        p.first_baseline_id,
        p.first_patch_group
    from items as i
    left join contents as c using (ci_id)
    left join summaries as s using (ci_id)
    left join per_item as p using (ci_id)
),
snapshots as (
    select
        ci_id, account_id, aws_region, instance_id, captured_at, state_id, item_status, is_deleted,
        has_patch_map,
        case
            when summary is not null then nullif(summary.Status, '')
            when has_patch_map then case when coalesce(any_failing, false) then 'NON_COMPLIANT' else 'COMPLIANT' end
        end as compliance_status,
        case
            when summary is not null then nullif(summary.OverallSeverity, '')
            when has_patch_map then
                case when coalesce(any_failing, false)
                then element_at(array('CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'),
                                cast(worst_rank as int))
                else 'UNSPECIFIED' end
        end as overall_severity,
        case
            when summary is not null then nullif(summary.PatchBaselineId, '')
            when has_patch_map then first_baseline_id
        end as baseline_id,
        case
            when summary is not null then nullif(summary.PatchGroup, '')
            when has_patch_map then first_patch_group
        end as patch_group,
        case when summary is not null then nullif(summary.ExecutionType, '') end as execution_type,
        case when has_patch_map then cast(coalesce(patch_count, 0) as int) end as patch_count,
        case when has_patch_map then cast(coalesce(installed_count, 0) as int) end as installed_count,
        case when has_patch_map then cast(coalesce(installed_other_count, 0) as int) end
            as installed_other_count,
        case when has_patch_map then cast(coalesce(installed_pending_reboot_count, 0) as int) end
            as installed_pending_reboot_count,
        case when has_patch_map then cast(coalesce(installed_rejected_count, 0) as int) end
            as installed_rejected_count,
        case when has_patch_map then cast(coalesce(missing_count, 0) as int) end as missing_count,
        case when has_patch_map then cast(coalesce(failed_count, 0) as int) end as failed_count,
        case when has_patch_map then cast(coalesce(not_applicable_count, 0) as int) end
            as not_applicable_count,
        case when has_patch_map then cast(coalesce(available_security_update_count, 0) as int) end
            as available_security_update_count,
        try_cast(try_cast(nullif(trim(summary.CompliantCriticalCount), '') as double) as int) as compliant_critical_count,
        try_cast(try_cast(nullif(trim(summary.CompliantHighCount), '') as double) as int) as compliant_high_count,
        try_cast(try_cast(nullif(trim(summary.CompliantMediumCount), '') as double) as int) as compliant_medium_count,
        try_cast(try_cast(nullif(trim(summary.CompliantLowCount), '') as double) as int) as compliant_low_count,
        try_cast(try_cast(nullif(trim(summary.CompliantInformationalCount), '') as double) as int)
            as compliant_informational_count,
        try_cast(try_cast(nullif(trim(summary.CompliantUnspecifiedCount), '') as double) as int)
            as compliant_unspecified_count,
        try_cast(try_cast(nullif(trim(summary.NonCompliantCriticalCount), '') as double) as int)
            as non_compliant_critical_count,
        try_cast(try_cast(nullif(trim(summary.NonCompliantHighCount), '') as double) as int)
            as non_compliant_high_count,
        try_cast(try_cast(nullif(trim(summary.NonCompliantMediumCount), '') as double) as int)
            as non_compliant_medium_count,
        try_cast(try_cast(nullif(trim(summary.NonCompliantLowCount), '') as double) as int)
            as non_compliant_low_count,
        try_cast(try_cast(nullif(trim(summary.NonCompliantInformationalCount), '') as double) as int)
            as non_compliant_informational_count,
        try_cast(try_cast(nullif(trim(summary.NonCompliantUnspecifiedCount), '') as double) as int)
            as non_compliant_unspecified_count,
        case when has_patch_map then cast(coalesce(unknown_count, 0) as int) end as unknown_count,
        is_recorded
    from joined
)
select * from snapshots
