-- spark item_rejections
-- Grain: one row per item of item_contents that transforms/flatten.py would reject whole, with
-- the first reason: a configuration without a patch map (see item_contents), an entry that is not
-- an object, a ComplianceSummary count that is not a whole number from 0 to 2^31 - 1
-- (transforms/summary.py `summary_count`). A patch whose PatchState is unknown or absent does
-- not reject its item: it is kept in state Unknown (patch_observations).
-- Reads: temp views item_contents, patch_entries.
with
contents as (select ci_id, content_reject_reason as reason, 0 as rank from item_contents
             where content_reject_reason is not null),
entries as (select ci_id, reject_reason as reason, 1 as rank from patch_entries
            where reject_reason is not null),
summary_values as (
    select ci_id, count_name, count_value, trim(count_value) as count_text,
        regexp_extract(trim(count_value), '^([+-]?)([0-9]+)(\\.0*)?$', 1) as count_sign,
        regexp_replace(regexp_extract(trim(count_value), '^([+-]?)([0-9]+)(\\.0*)?$', 2), '^0+(?=[0-9])', '')
            as count_digits
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
    where is_summary and reject_reason is null and count_value is not null and count_value != ''
),
summary_counts as (
    select ci_id,
        case
            when not count_text rlike '^([+-]?)([0-9]+)(\\.0*)?$'
                then concat('ComplianceSummary.', count_name, ' ''', count_value, ''' is not a count')
            when length(count_digits) > 10 or try_cast(count_digits as bigint) > 2147483647
                then concat('ComplianceSummary.', count_name, ' ''', count_value,
                            ''' is above 2147483647, the largest count kept')
            when count_sign = '-' and count_digits != '0'
                then concat('ComplianceSummary.', count_name, ' -', count_digits, ' is negative')
        end as reason,
        2 as rank
    from summary_values
),
reasons as (
    select * from contents
    union all select * from entries
    union all select * from summary_counts where reason is not null
),
first_reason as (
    select ci_id, min_by(reason, struct(rank, reason)) as reason
    from reasons
    group by ci_id
)
select * from first_reason
