-- spark current_missing_patches
-- Grain: one row per patch non-compliant on a live instance at :as_of, the data-as-of time
-- (the latest capture time), labelled with it: sql/warehouse/publish/current_missing_patches.sql.
-- At the latest capture time every version and every end is known, so these are the open
-- episodes of remediation_episodes; days_missing = whole days from first seen missing to as_of.
-- Reads: temp view remediation_episodes. Parameters: :as_of (timestamp).
with
episodes as (select * from remediation_episodes),
open_episodes as (
    select
        cast(:as_of as timestamp) as as_of,
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
        cast(floor((cast((unix_micros(cast(:as_of as timestamp)) - unix_micros(opened_at)) div 86400000000 as double) * 86400e0
            + cast((unix_micros(cast(:as_of as timestamp)) - unix_micros(opened_at)) % 86400000000 as double) / 1e6) / 86400e0) as int) as days_missing,
        episode_no,
        opened_ci_id
    from episodes
    where is_open
)
select * from open_episodes
