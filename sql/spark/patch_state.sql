-- spark patch_state
-- Grain: one row per version of one patch on one instance (SCD type 2): history.patch_state
-- built from every item at once. Key: (account_id, aws_region, instance_id, patch_id,
-- valid_from). Items of an instance are numbered in item order (as instance_compliance); a patch
-- version continues while consecutive items report the patch with identical tracked attributes,
-- and ends at the capture time of the first item that reports it differently, leaves it out or
-- deletes the instance or is ResourceNotRecorded (no row for the patch in that item). Tracked:
-- state ... patch_group, raw_state and installed_time_raw (history/recomputed_patch_state.sql).
-- Reads: temp views instance_snapshots, patch_observations, configuration_items.
with
snapshots as (select * from instance_snapshots),
recorded as (select ci_id, ingested_at as recorded_at from configuration_items),
items as (
    select
        s.account_id,
        s.aws_region,
        s.instance_id,
        s.ci_id,
        s.captured_at,
        r.recorded_at,
        row_number() over (
            partition by s.account_id, s.aws_region, s.instance_id
            order by s.captured_at, try_cast(s.state_id as bigint) nulls last, s.state_id, s.ci_id
        ) as item_seq
    from snapshots as s
    join recorded as r using (ci_id)
),
observations as (
    select
        o.account_id, o.aws_region, o.instance_id, o.patch_id, o.ci_id, o.captured_at,
        i.recorded_at, i.item_seq, o.state, o.compliance_status, o.severity, o.vendor_severity,
        o.classification, o.title, o.installed_at, o.cve_ids, o.baseline_id, o.patch_group,
        o.raw_state, o.installed_time_raw,
        struct(
            o.state, o.compliance_status, o.severity, o.vendor_severity, o.classification,
            o.title, o.installed_at, o.cve_ids, o.baseline_id, o.patch_group, o.raw_state,
            o.installed_time_raw
        ) as attributes
    from patch_observations as o
    join items as i using (ci_id)
),
flagged as (
    select
        *,
        case
            when lag(item_seq) over patch_order = item_seq - 1
                and lag(attributes) over patch_order <=> attributes
            then 0
            else 1
        end as is_version_start
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
        ) as version_no
    from flagged
),
spans as (
    select
        *,
        max(item_seq) over (
            partition by account_id, aws_region, instance_id, patch_id, version_no
        ) as last_item_seq
    from numbered
),
version_starts as (
    select * from spans where is_version_start = 1
),
closed as (
    select
        v.*,
        next_item.captured_at as valid_to
    from version_starts as v
    left join items as next_item
        on next_item.account_id = v.account_id
        and next_item.aws_region = v.aws_region
        and next_item.instance_id = v.instance_id
        and next_item.item_seq = v.last_item_seq + 1
),
versions as (
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
        raw_state,
        installed_time_raw
    from closed
)
select * from versions
