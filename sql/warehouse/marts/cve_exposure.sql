-- marts.cve_exposure(cve)
-- Grain: one row per remediation episode (marts.remediation_episodes) in which the patch listed
-- CVE id `cve` (case-insensitive) while non-compliant: the instance was exposed from
-- exposed_from (first seen missing) to exposed_until (when the episode closed; null while still
-- exposed). days_exposed is null while open.
-- Reads: marts.remediation_episodes. Parameters: cve (varchar, e.g. 'CVE-2026-21001').
create or replace macro marts.cve_exposure(cve) as table
with
episodes as (select * from marts.remediation_episodes),
exposures as (
    select
        upper(cve) as cve_id,
        account_id,
        aws_region,
        instance_id,
        patch_id,
        episode_no,
        title,
        severity,
        opened_at as exposed_from,
        closed_at as exposed_until,
        is_open,
        close_reason,
        duration_days as days_exposed,
        opened_ci_id,
        closed_ci_id,
    from episodes
    where list_contains(cve_ids, upper(cve))
)
select * from exposures
