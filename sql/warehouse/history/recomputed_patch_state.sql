-- history.recomputed_patch_state(known_at, from_load, scope := null)
-- Grain: one row per version of history.patch_state that starts at or after from_at, or is open
-- at from_at, for each instance of history.changed_instances(known_at, from_load); the versions
-- that replace them. Same columns as history.patch_state.
-- How: item 0 is the item just before from_at, represented by its "seeds": the stored patch
-- versions open at from_at (valid_from < from_at and valid_to null or >= from_at), whose starts
-- and attributes cannot change. Items 1..n are the items captured at or after from_at that are
-- known at known_at, in item order. A patch version continues while consecutive items report the
-- patch with identical tracked attributes; an item that omits the patch or deletes the instance
-- ends it; so does a ResourceNotRecorded item, which reports no patches. Tracked attributes:
-- state ... patch_group, raw_state (the PatchState text of an Unknown state) and
-- installed_time_raw (InstalledTime text that did not parse), compared by their 64-bit hash().
-- One window pass over the observations finds each version's first and last item (where the
-- previous / next item of the instance does not report the patch the same); the n-th start and
-- the n-th end of a patch are one version. Cost grows with the items from from_at on, not with
-- the instance's whole history.
-- Reads: history.changed_instances, history.patch_state, staging.instance_snapshots,
-- staging.patch_observations, landing.configuration_items.
-- Parameters: as for history.changed_instances. An item with conflicting variants is known from
-- when its first variant landed (ingested_at of the earliest).
create or replace macro history.recomputed_patch_state(known_at, from_load, scope := null) as table
with
changed as (select * from history.changed_instances(known_at, from_load, scope := scope)),
patch_state as (select * from history.patch_state),
observations_all as (select * from staging.patch_observations),
known_items as (
    select l.ci_id, min(l.ingested_at) as ingested_at,
    from landing.configuration_items as l
    join changed as c using (account_id, aws_region, instance_id)
    where l.captured_at >= c.from_at
        and l.ingested_at <= cast(known_at as timestamptz)
    group by l.ci_id
),
items as (
    select
        s.account_id,
        s.aws_region,
        s.instance_id,
        s.ci_id,
        s.captured_at,
        k.ingested_at as recorded_at,
        row_number() over (
            partition by s.account_id, s.aws_region, s.instance_id
            order by s.captured_at, try_cast(s.state_id as bigint), s.state_id, s.ci_id
        ) as item_seq,
    from staging.instance_snapshots as s
    join changed as c using (account_id, aws_region, instance_id)
    join known_items as k using (ci_id)
    where s.captured_at >= c.from_at
),
seeds as (
    select h.*
    from patch_state as h
    join changed as c using (account_id, aws_region, instance_id)
    where h.valid_from < c.from_at and (h.valid_to is null or h.valid_to >= c.from_at)
),
window_observations as (
    select o.*, i.item_seq, i.recorded_at,
    from observations_all as o
    join changed as c using (account_id, aws_region, instance_id)
    join items as i using (ci_id)
    where o.captured_at >= c.from_at
),
observations as (
    select
        account_id, aws_region, instance_id, patch_id, ci_id, valid_from as captured_at,
        recorded_at, 0::bigint as item_seq, state, compliance_status, severity, vendor_severity,
        classification, title, installed_at, cve_ids, baseline_id, patch_group, raw_state,
        installed_time_raw,
    from seeds
    union all
    select
        account_id, aws_region, instance_id, patch_id, ci_id, captured_at,
        recorded_at, item_seq, state, compliance_status, severity, vendor_severity,
        classification, title, installed_at, cve_ids, baseline_id, patch_group, raw_state,
        installed_time_raw,
    from window_observations
),
tracked as (
    select
        *,
        hash(
            state, compliance_status, severity, vendor_severity, classification,
            title, installed_at, cve_ids, baseline_id, patch_group, raw_state, installed_time_raw
        ) as attributes,
    from observations
),
neighbours as (
    select
        account_id, aws_region, instance_id, patch_id, item_seq, attributes,
        lag(item_seq) over patch_order as previous_seq,
        lag(attributes) over patch_order as previous_attributes,
        lead(item_seq) over patch_order as next_seq,
        lead(attributes) over patch_order as next_attributes,
    from tracked
    window patch_order as (
        partition by account_id, aws_region, instance_id, patch_id order by item_seq
    )
),
starts as (
    select
        account_id, aws_region, instance_id, patch_id, item_seq,
        row_number() over (
            partition by account_id, aws_region, instance_id, patch_id order by item_seq
        ) as version_no,
    from neighbours
    where previous_seq is distinct from item_seq - 1 or previous_attributes <> attributes
),
ends as (
    select
        account_id, aws_region, instance_id, patch_id, item_seq as last_item_seq,
        row_number() over (
            partition by account_id, aws_region, instance_id, patch_id order by item_seq
        ) as version_no,
    from neighbours
    where next_seq is distinct from item_seq + 1 or next_attributes <> attributes
),
spans as (
    select t.*, e.last_item_seq,
    from starts as s
    join ends as e using (account_id, aws_region, instance_id, patch_id, version_no)
    join tracked as t using (account_id, aws_region, instance_id, patch_id, item_seq)
),
closed as (
    select
        v.*,
        next_item.captured_at as valid_to,
    from spans as v
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
        installed_time_raw,
    from closed
)
select * from versions
