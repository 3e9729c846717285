-- marts.missing_patches_as_of(as_of, known_at := 'infinity')
-- Grain: one row per (account_id, aws_region, instance_id, patch_id) non-compliant at valid time
-- `as_of` on a live instance (marts.is_non_compliant: Missing, Failed, InstalledPendingReboot,
-- InstalledRejected, or AvailableSecurityUpdate reported NON_COMPLIANT), as known at `known_at`.
-- Every "missing patches" figure (summaries, status, report, SLA) counts these rows.
-- first_seen_missing is when its open remediation episode started; days_missing =
-- floor((as_of - first_seen_missing) / 1 day). severity is the highest seen in the episode.
-- Reads: marts.remediation_episodes_as_of. Parameters: as_of, known_at (timestamptz).
create or replace macro marts.missing_patches_as_of(as_of, known_at := 'infinity') as table
with
episodes as (
    select * from marts.remediation_episodes_as_of(as_of, known_at := known_at, open_only := true)
),
open_episodes as (
    select
        account_id,
        aws_region,
        instance_id,
        patch_id,
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
        opened_at as first_seen_missing,
        cast(floor(epoch(cast(as_of as timestamptz) - opened_at) / 86400) as integer)
            as days_missing,
        episode_no,
        opened_ci_id,
    from episodes
    where is_open
)
select * from open_episodes
