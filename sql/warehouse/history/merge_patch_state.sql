-- Recompute history.patch_state for the instances in temp table affected_instances.
-- A patch version continues only while consecutive items of the instance report the patch with
-- identical tracked attributes; an item that omits the patch (or deletes the instance) ends it.
-- Run after delete_affected_history.sql, inside the run's transaction.
insert into history.patch_state
with
items as (
    select
        s.account_id,
        s.aws_region,
        s.instance_id,
        s.ci_id,
        s.captured_at,
        row_number() over (
            partition by s.account_id, s.aws_region, s.instance_id
            order by s.captured_at, try_cast(s.state_id as bigint), s.state_id, s.ci_id
        ) as item_seq,
    from staging.instance_snapshots as s
    semi join affected_instances as a using (account_id, aws_region, instance_id)
),
observations as (
    select
        o.*,
        i.item_seq,
        struct_pack(
            o.state, o.compliance_status, o.severity, o.vendor_severity, o.classification,
            o.title, o.installed_at, o.cve_ids, o.baseline_id, o.patch_group
        ) as attributes,
    from staging.patch_observations as o
    join items as i using (ci_id)
),
flagged as (
    select
        *,
        case
            when lag(item_seq) over patch_order = item_seq - 1
                and lag(attributes) over patch_order is not distinct from attributes
            then 0
            else 1
        end as is_version_start,
    from observations
    window patch_order as (
        partition by account_id, aws_region, instance_id, patch_id order by item_seq
    )
),
numbered as (
    select
        *,
        sum(is_version_start) over (
            partition by account_id, aws_region, instance_id, patch_id
            order by item_seq rows unbounded preceding
        ) as version_no,
    from flagged
),
spans as (
    select
        *,
        max(item_seq) over (
            partition by account_id, aws_region, instance_id, patch_id, version_no
        ) as last_item_seq,
    from numbered
),
version_starts as (
    select * from spans where is_version_start = 1
),
closed as (
    select
        v.*,
        next_item.captured_at as valid_to,
        li.ingested_at as recorded_at,
    from version_starts as v
    left join items as next_item
        on next_item.account_id = v.account_id
        and next_item.aws_region = v.aws_region
        and next_item.instance_id = v.instance_id
        and next_item.item_seq = v.last_item_seq + 1
    join landing.configuration_items as li on li.ci_id = v.ci_id
)
select
    account_id,
    aws_region,
    instance_id,
    patch_id,
    captured_at as valid_from,
    valid_to,
    valid_to is null as is_current,
    ci_id,
    recorded_at,
    state,
    compliance_status,
    severity,
    vendor_severity,
    classification,
    title,
    installed_at,
    cve_ids,
    baseline_id,
    patch_group,
from closed
