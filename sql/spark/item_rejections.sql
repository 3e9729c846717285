-- spark item_rejections
-- Grain: one row per item of item_contents that transforms/flatten.py would reject whole, with
-- the first reason: a configuration, compliance item or Content.Patch that is not an object, an
-- entry that is not an object, a ComplianceSummary count that is not a count, a patch whose
-- PatchState is unknown or absent.
-- Reads: temp views item_contents, patch_entries, patch_observations.
with
contents as (select ci_id, content_reject_reason as reason, 0 as rank from item_contents
             where content_reject_reason is not null),
entries as (select ci_id, reject_reason as reason, 1 as rank from patch_entries
            where reject_reason is not null),
summary_counts as (
    select ci_id, concat('ComplianceSummary.', count_name, ' ', count_value, ' is not a count') as reason,
        2 as rank
    from patch_entries
    lateral view stack(12,
        'CompliantCriticalCount', entry.CompliantCriticalCount,
        'CompliantHighCount', entry.CompliantHighCount,
        'CompliantMediumCount', entry.CompliantMediumCount,
        'CompliantLowCount', entry.CompliantLowCount,
        'CompliantInformationalCount', entry.CompliantInformationalCount,
        'CompliantUnspecifiedCount', entry.CompliantUnspecifiedCount,
        'NonCompliantCriticalCount', entry.NonCompliantCriticalCount,
        'NonCompliantHighCount', entry.NonCompliantHighCount,
        'NonCompliantMediumCount', entry.NonCompliantMediumCount,
        'NonCompliantLowCount', entry.NonCompliantLowCount,
        'NonCompliantInformationalCount', entry.NonCompliantInformationalCount,
        'NonCompliantUnspecifiedCount', entry.NonCompliantUnspecifiedCount) counts as count_name, count_value
    where is_summary and reject_reason is null
        and count_value is not null and trim(count_value) != ''
        and not trim(count_value) rlike '^[0-9]+(\\.0+)?$'
),
unknown_states as (
    select ci_id,
        concat('patch ''', patch_id, ''' has unknown PatchState ', coalesce(concat('''', raw_state, ''''), 'None'))
            as reason,
        3 as rank
    from patch_observations
    where state is null
),
reasons as (
    select * from contents
    union all select * from entries
    union all select * from summary_counts
    union all select * from unknown_states
),
first_reason as (
    select ci_id, min_by(reason, struct(rank, reason)) as reason
    from reasons
    group by ci_id
)
select * from first_reason
