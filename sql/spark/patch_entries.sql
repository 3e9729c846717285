-- spark patch_entries
-- Grain: one row per (ci_id, key) of Content.Patch, patches and the ComplianceSummary entry
-- alike, with its position in the map. A key given twice keeps its first position and its last
-- value, as a JSON object read by Python does. Every field is read as text.
-- reject_reason is set when the entry is not a JSON object.
-- Reads: temp view item_contents.
with
items as (select * from item_contents where has_patch_map and content_reject_reason is null),
exploded as (
    select ci_id, pos, key, value
    from items
    lateral view posexplode(from_json(patch_json, 'map<string, string>')) as pos, key, value
),
deduplicated as (
    select
        ci_id,
        min(pos) as pos,
        key,
        max_by(value, pos) as value
    from exploded
    group by ci_id, key
),
parsed as (
    select
        ci_id,
        pos,
        key,
        from_json(value, 'Id string, Title string, Status string, Severity string,
            PatchState string, PatchSeverity string, Classification string,
            InstalledTime string, PatchBaselineId string, PatchGroup string, CVEIds string,
            OverallSeverity string, ExecutionType string,
            CompliantCriticalCount string, CompliantHighCount string, CompliantMediumCount string,
            CompliantLowCount string, CompliantInformationalCount string,
            CompliantUnspecifiedCount string, NonCompliantCriticalCount string,
            NonCompliantHighCount string, NonCompliantMediumCount string,
            NonCompliantLowCount string, NonCompliantInformationalCount string,
            NonCompliantUnspecifiedCount string') as entry,
        value
    from deduplicated
),
checked as (
    select
        *,
        key = 'ComplianceSummary' as is_summary,
        case
            when entry is null and key = 'ComplianceSummary' then 'ComplianceSummary is not an object'
            when entry is null then concat('patch ''', key, ''' is not an object')
        end as reject_reason
    from parsed
)
select * from checked
