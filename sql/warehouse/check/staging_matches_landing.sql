-- check/staging_matches_landing
-- Invariant: staging.instance_snapshots holds exactly one row per landed item (ci_id), and
-- every staged patch observation belongs to a staged item. Items a rebuild found refused by
-- today's rules (landed by an older patchtrail) are recorded in landing.rejected_records
-- (source 'rebuild', record_ref 'ci_id:<ci_id>') and are not staged.
-- Grain of the result: one row per ci_id that breaks it, with what is wrong.
-- Reads: landing.configuration_items, landing.rejected_records, staging.instance_snapshots,
-- staging.patch_observations.
with
refused as (
    select distinct substr(record_ref, 7) as ci_id,
    from landing.rejected_records
    where source = 'rebuild' and record_ref like 'ci_id:%'
),
landed as (
    select distinct ci_id from landing.configuration_items
    except
    select ci_id from refused
),
staged as (select ci_id, count(*) as snapshots from staging.instance_snapshots group by ci_id),
observed as (select distinct ci_id from staging.patch_observations),
not_staged as (
    select l.ci_id, 'landed but not staged' as problem,
    from landed as l
    anti join staged as s using (ci_id)
),
not_landed as (
    select s.ci_id, 'staged but not landed' as problem,
    from staged as s
    anti join landed as l using (ci_id)
),
staged_twice as (
    select ci_id, 'staged ' || snapshots || ' times' as problem,
    from staged
    where snapshots > 1
),
orphan_patches as (
    select o.ci_id, 'patch observations without a staged item' as problem,
    from observed as o
    anti join staged as s using (ci_id)
),
violations as (
    select * from not_staged
    union all select * from not_landed
    union all select * from staged_twice
    union all select * from orphan_patches
)
select * from violations
