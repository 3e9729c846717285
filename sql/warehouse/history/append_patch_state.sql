-- Append each in-order instance's one new item (temp table append_items, see merge_scope.sql)
-- to history.patch_state: set-based close and insert instead of a recomputation.
-- Against the instance's current patch versions: a patch the item reports with the same tracked
-- attributes continues; one it reports differently, or omits, ends at the item's capture time;
-- one it reports differently or for the first time starts a version. A deletion or a
-- ResourceNotRecorded item reports no patch, so every current patch version ends. The same
-- rules, and the same tracked attributes compared the same way (their hash()), as
-- history/recomputed_patch_state.sql (a test holds the two lists equal).
-- Reads: append_items, staging.patch_observations, history.patch_state.
create or replace temp table append_patch_changes as
with
new_observations as (
    select o.*, a.recorded_at,
    from staging.patch_observations as o
    join append_items as a using (ci_id)
),
current_versions as (
    select h.*
    from history.patch_state as h
    semi join append_items using (account_id, aws_region, instance_id)
    where h.is_current
),
compared as (
    select
        coalesce(n.account_id, c.account_id) as account_id,
        coalesce(n.aws_region, c.aws_region) as aws_region,
        coalesce(n.instance_id, c.instance_id) as instance_id,
        coalesce(n.patch_id, c.patch_id) as patch_id,
        c.patch_id is not null as was_current,
        n.patch_id is not null as is_reported,
        hash(
            n.state, n.compliance_status, n.severity, n.vendor_severity, n.classification,
            n.title, n.installed_at, n.cve_ids, n.baseline_id, n.patch_group, n.raw_state,
            n.installed_time_raw
        ) = hash(
            c.state, c.compliance_status, c.severity, c.vendor_severity, c.classification,
            c.title, c.installed_at, c.cve_ids, c.baseline_id, c.patch_group, c.raw_state,
            c.installed_time_raw
        ) as is_unchanged,
    from new_observations as n
    full join current_versions as c
        on c.account_id = n.account_id and c.aws_region = n.aws_region
        and c.instance_id = n.instance_id and c.patch_id = n.patch_id
)
select * from compared where not (was_current and is_reported and is_unchanged);

update history.patch_state as h
set valid_to = a.captured_at, is_current = false
from append_patch_changes as c
join append_items as a using (account_id, aws_region, instance_id)
where c.was_current
    and h.account_id = c.account_id and h.aws_region = c.aws_region
    and h.instance_id = c.instance_id and h.patch_id = c.patch_id and h.is_current;

insert into history.patch_state by name
select
    o.* exclude (captured_at),
    o.captured_at as valid_from,
    null::timestamptz as valid_to,
    true as is_current,
    a.recorded_at,
from staging.patch_observations as o
join (select ci_id, recorded_at from append_items) as a using (ci_id)
semi join (select * from append_patch_changes where is_reported) as c
    using (account_id, aws_region, instance_id, patch_id);
