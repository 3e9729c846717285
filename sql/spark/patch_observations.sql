-- spark patch_observations
-- Grain: one row per (ci_id, patch): staging.patch_observations. The ComplianceSummary entry is
-- not a patch. As transforms/flatten.py: the state in its canonical spelling (unknown: the item
-- is rejected, see item_rejections), the map key when Id is absent or empty, empty strings as
-- null (except Status), InstalledTime 'YYYY-MM-DDTHH:MM:SS' + Z or an offset (+hh, +hhmm,
-- +hh:mm) as a UTC timestamp (anything else, and epoch 0 or earlier: null), CVEIds split on
-- commas ([] when absent or empty).
-- Reads: temp views patch_entries, item_contents, patch_states.
with
entries as (select * from patch_entries where not is_summary and reject_reason is null),
items as (select * from item_contents),
states as (select * from patch_states),
canonical as (
    select
        e.*,
        coalesce(exact.state, by_key.state) as state
    from entries as e
    left join states as exact on exact.state = e.entry.PatchState
    left join states as by_key
        on by_key.state_key = lower(regexp_replace(e.entry.PatchState, '[_\\s]', ''))
),
installed_fields as (
    select
        *,
        case
            when replace(nullif(entry.InstalledTime, ''), 'Z', '+0000')
                rlike '^\\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}\\s*[+-][0-9]{2}(:?[0-9]{2})?$'
            then split(regexp_replace(
                replace(entry.InstalledTime, 'Z', '+0000'),
                '^\\s*([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})T([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})\\s*([+-])([0-9]{2}):?([0-9]{2})?$',
                '$1|$2|$3|$4|$5|$6|$7|$8|$9'), '\\|')
        end as f
    from canonical
),
installed as (
    select
        *,
        case
            when f is null then null
            when cast(f[1] as int) not between 1 and 12 or cast(f[2] as int) not between 1 and 31
                or cast(f[3] as int) > 23 or cast(f[4] as int) > 59 or cast(f[5] as int) > 60
                then null
            else timestamp_seconds(
                unix_seconds(try_make_timestamp(cast(f[0] as int), cast(f[1] as int), 1, 0, 0, 0, 'UTC'))
                + (cast(f[2] as bigint) - 1) * 86400 + cast(f[3] as bigint) * 3600
                + cast(f[4] as bigint) * 60 + cast(f[5] as bigint)
                - (case when f[6] = '-' then -1 else 1 end)
                    * (cast(f[7] as bigint) * 3600 + coalesce(cast(nullif(f[8], '') as bigint), 0) * 60)
            )
        end as installed_parsed
    from installed_fields
),
observations as (
    select
        i.ci_id,
        i.account_id,
        i.aws_region,
        i.instance_id,
        i.captured_at,
        case when o.entry.Id is null or o.entry.Id = '' then o.key else o.entry.Id end as patch_id,
        nullif(o.entry.Title, '') as title,
        o.state,
        o.entry.Status as compliance_status,
        nullif(o.entry.Severity, '') as severity,
        nullif(o.entry.PatchSeverity, '') as vendor_severity,
        nullif(o.entry.Classification, '') as classification,
        case when o.installed_parsed > timestamp_seconds(0) then o.installed_parsed end as installed_at,
        coalesce(
            split(nullif(trim(BOTH ' ,\t' FROM o.entry.CVEIds), ''), '\\s*,[\\s,]*'),
            cast(array() as array<string>)
        ) as cve_ids,
        nullif(o.entry.PatchBaselineId, '') as baseline_id,
        nullif(o.entry.PatchGroup, '') as patch_group,
        o.pos,
        o.entry.PatchState as raw_state
    from installed as o
    join items as i using (ci_id)
)
select * from observations
