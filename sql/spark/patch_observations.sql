-- spark patch_observations
-- Grain: one row per (ci_id, patch): staging.patch_observations. The ComplianceSummary entry is
-- not a patch. As transforms/flatten.py: the state in its canonical spelling, or 'Unknown' when
-- PatchState is absent or none of the states (its text kept in raw_state, '' when absent; null
-- for a known state in any spelling), the map key when Id is absent or empty, empty strings as
-- null (except Status), CVEIds split on commas ([] when absent or empty). Two map keys of one
-- item with the same patch Id: only the smallest map key's entry is kept.
-- InstalledTime as transforms/installed_time.py: ISO-8601 with a `T`, `t` or space, any
-- fraction (truncated to microseconds), Z / UTC / +hh / +hhmm / +hh:mm or no zone (UTC), on a
-- real calendar date, or epoch seconds (milliseconds above 1e11) as numeric text; at or before
-- the epoch is "never installed" (null); non-blank text that does not parse (or lies after
-- 9999) gives null and is kept in installed_time_raw.
-- Reads: temp views patch_entries, item_contents, patch_states.
with
entries as (select * from patch_entries where not is_summary and reject_reason is null),
items as (select * from item_contents),
states as (select * from patch_states),
canonical as (
    select
        e.*,
        coalesce(exact.state, by_key.state) as canonical_state
    from entries as e
    left join states as exact on exact.state = e.entry.PatchState
    left join states as by_key
        on by_key.state_key = lower(regexp_replace(e.entry.PatchState, '[_\\s]', ''))
),
installed_text as (
    select
        *,
        regexp_replace(entry.InstalledTime, '^\\s+|\\s+$', '') as installed_trimmed
    from canonical
),
installed_parts as (
    select
        *,
        case when installed_trimmed rlike
            '^[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-9])|(?:0[13-9]|1[0-2])-30|(?:0[13578]|1[02])-31)[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:[.,][0-9]{1,9})?\\s*(?:[Zz]|UTC|[+-](?:[01][0-9]|2[0-3])(?::?[0-5][0-9])?)?$'
            then installed_trimmed end as iso_text,
        case when installed_trimmed rlike '^[0-9]{1,13}(?:\\.[0-9]{0,9})?$' then installed_trimmed end
            as epoch_text
    from installed_text
),
installed_micros as (
    select
        *,
        case when iso_text is not null then
            unix_micros(try_make_timestamp(
                cast(regexp_extract(iso_text, '^([0-9]{4})', 1) as int),
                cast(substr(iso_text, 6, 2) as int), cast(substr(iso_text, 9, 2) as int),
                cast(substr(iso_text, 12, 2) as int), cast(substr(iso_text, 15, 2) as int),
                cast(substr(iso_text, 18, 2) as int), 'UTC'))
            + cast(substr(rpad(regexp_extract(iso_text, '^.{19}[.,]([0-9]{1,9})', 1), 9, '0'), 1, 6) as bigint)
            - coalesce(
                (case when regexp_extract(iso_text, '([+-])[0-9]{2}:?([0-9]{2})?$', 1) = '-' then -1 else 1 end)
                * (cast(nullif(regexp_extract(iso_text, '[+-]([0-9]{2}):?([0-9]{2})?$', 1), '') as bigint) * 60
                   + coalesce(cast(nullif(regexp_extract(iso_text, '[+-][0-9]{2}:?([0-9]{2})?$', 1), '') as bigint), 0))
                * 60000000, 0)
        end as iso_micros,
        case when epoch_text is not null then
            case when cast(regexp_extract(epoch_text, '^([0-9]+)', 1) as bigint) > 100000000000
                then cast(regexp_extract(epoch_text, '^([0-9]+)', 1) as bigint) * 1000
                    + cast(substr(rpad(regexp_extract(epoch_text, '\\.([0-9]*)$', 1), 9, '0'), 1, 3) as bigint)
                else cast(regexp_extract(epoch_text, '^([0-9]+)', 1) as bigint) * 1000000
                    + cast(substr(rpad(regexp_extract(epoch_text, '\\.([0-9]*)$', 1), 9, '0'), 1, 6) as bigint)
            end
        end as epoch_micros
    from installed_parts
),
installed as (
    select
        *,
        coalesce(iso_micros, epoch_micros) as installed_micros_parsed,
        installed_trimmed != ''
            and (coalesce(iso_micros, epoch_micros) is null
                 or coalesce(iso_micros, epoch_micros) > 253402300799999999) as installed_unparsed
    from installed_micros
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
        coalesce(o.canonical_state, 'Unknown') as state,
        o.entry.Status as compliance_status,
        nullif(o.entry.Severity, '') as severity,
        nullif(o.entry.PatchSeverity, '') as vendor_severity,
        nullif(o.entry.Classification, '') as classification,
        case when not coalesce(o.installed_unparsed, false) and o.installed_micros_parsed > 0
            then timestamp_micros(o.installed_micros_parsed) end as installed_at,
        coalesce(
            split(nullif(trim(BOTH ' ,\t' FROM o.entry.CVEIds), ''), '\\s*,[\\s,]*'),
            cast(array() as array<string>)
        ) as cve_ids,
        nullif(o.entry.PatchBaselineId, '') as baseline_id,
        nullif(o.entry.PatchGroup, '') as patch_group,
        case when o.canonical_state is null then coalesce(o.entry.PatchState, '') end as raw_state,
        case when coalesce(o.installed_unparsed, false) then o.entry.InstalledTime end as installed_time_raw,
        o.pos,
        o.key
    from installed as o
    join items as i using (ci_id)
),
first_per_id as (
    select
        *,
        row_number() over (partition by ci_id, patch_id order by key) as id_rank
    from observations
)
select * except (id_rank, key) from first_per_id where id_rank = 1
