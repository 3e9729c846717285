-- Append each in-order instance's one new item (temp table append_items, see merge_scope.sql)
-- to history.instance_compliance: set-based close and insert instead of a recomputation.
-- A new version starts when the item's tracked attributes differ from the current version's
-- (or there is none); the current version then ends at the item's capture time. The same rules,
-- and the same tracked attributes, as history/recomputed_instance_compliance.sql (a test holds
-- the two lists equal).
-- Reads: append_items, staging.instance_snapshots, history.instance_compliance.
create or replace temp table append_instance_versions as
with
new_items as (
    select
        s.* replace (
            case when s.has_patch_map then coalesce(s.unknown_count, 0) end as unknown_count,
            coalesce(s.is_recorded, true) as is_recorded
        ),
        a.recorded_at,
    from staging.instance_snapshots as s
    join append_items as a using (ci_id)
),
current_versions as (
    select
        h.* replace (
            case when h.has_patch_map then coalesce(h.unknown_count, 0) end as unknown_count,
            coalesce(h.is_recorded, true) as is_recorded
        ),
    from history.instance_compliance as h
    semi join append_items using (account_id, aws_region, instance_id)
    where h.is_current
),
compared as (
    select
        n.*,
        c.instance_id is not null and struct_pack(
            n.is_deleted, n.has_patch_map, n.compliance_status, n.overall_severity, n.baseline_id,
            n.patch_group, n.execution_type, n.patch_count, n.installed_count, n.installed_other_count,
            n.installed_pending_reboot_count, n.installed_rejected_count, n.missing_count, n.failed_count,
            n.not_applicable_count, n.available_security_update_count, n.non_compliant_critical_count,
            n.non_compliant_high_count, n.non_compliant_medium_count, n.non_compliant_low_count,
            n.non_compliant_informational_count, n.non_compliant_unspecified_count, n.unknown_count,
            n.is_recorded
        ) is not distinct from struct_pack(
            c.is_deleted, c.has_patch_map, c.compliance_status, c.overall_severity, c.baseline_id,
            c.patch_group, c.execution_type, c.patch_count, c.installed_count, c.installed_other_count,
            c.installed_pending_reboot_count, c.installed_rejected_count, c.missing_count, c.failed_count,
            c.not_applicable_count, c.available_security_update_count, c.non_compliant_critical_count,
            c.non_compliant_high_count, c.non_compliant_medium_count, c.non_compliant_low_count,
            c.non_compliant_informational_count, c.non_compliant_unspecified_count, c.unknown_count,
            c.is_recorded
        ) as is_unchanged,
    from new_items as n
    left join current_versions as c using (account_id, aws_region, instance_id)
)
select * from compared where not is_unchanged;

update history.instance_compliance as h
set valid_to = v.captured_at, is_current = false
from append_instance_versions as v
where h.account_id = v.account_id and h.aws_region = v.aws_region
    and h.instance_id = v.instance_id and h.is_current;

insert into history.instance_compliance by name
select
    * exclude (
        captured_at, state_id, is_unchanged, compliant_critical_count, compliant_high_count,
        compliant_medium_count, compliant_low_count, compliant_informational_count,
        compliant_unspecified_count
    ),
    captured_at as valid_from,
    null::timestamptz as valid_to,
    true as is_current,
from append_instance_versions;
