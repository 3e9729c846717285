-- marts.patch_state_known_at(known_at)
-- Grain: one row per version of history.patch_state as the warehouse would hold it had it only
-- ever landed the items with ingested_at <= known_at (same columns). Exact definition: the SCD2
-- history recomputed from those items; computed as for marts.instance_compliance_known_at, with
-- history.recomputed_patch_state. With known_at = 'infinity' it is the stored history.
-- Reads: history.patch_state, history.changed_instances, history.recomputed_patch_state.
-- Parameters: known_at (timestamptz).
create or replace macro marts.patch_state_known_at(known_at) as table
with
changed as (select * from history.changed_instances(known_at, null)),
patch_state as (select * from history.patch_state),
standing as (
    select h.*
    from patch_state as h
    left join changed as c using (account_id, aws_region, instance_id)
    where c.from_at is null or h.valid_to < c.from_at
),
recomputed as (
    select * from history.recomputed_patch_state(known_at, null)
),
versions as (
    select * from standing
    union all
    select * from recomputed
)
select * from versions
