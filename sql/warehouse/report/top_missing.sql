-- report/top_missing (query)
-- Grain: one row per critical or high patch missing at $as_of: on how many instances, the longest
-- it has been missing, its title and CVEs. Parameters: $as_of (timestamptz).
with
missing as (
    select * from marts.missing_patches_as_of($as_of) where severity in ('CRITICAL', 'HIGH')
),
per_patch as (
    select
        patch_id,
        severity,
        any_value(title) as title,
        count(*) as instances,
        max(days_missing) as max_days_missing,
        min(first_seen_missing) as first_seen_missing,
        list_distinct(flatten(list(cve_ids))) as cve_ids,
    from missing
    group by patch_id, severity
)
select * from per_patch
order by severity = 'CRITICAL' desc, max_days_missing desc, instances desc, patch_id
limit 25
