-- marts.overwrite_anomalies
-- Grain: one row per pair of consecutive configuration items of an instance (in item order:
-- capture time, numeric state id, state id, ci_id) that both carry compliance data and whose
-- patch baseline id or execution type (Command / PatchPolicy) differ. AWS documents that scans
-- by different methods or baselines overwrite each other's compliance data; each row is a flip.
-- Reads: staging.instance_snapshots.
create or replace view marts.overwrite_anomalies as
with
items as (select * from staging.instance_snapshots),
paired as (
    select
        account_id,
        aws_region,
        instance_id,
        lag(captured_at) over item_order as previous_captured_at,
        captured_at,
        lag(ci_id) over item_order as previous_ci_id,
        ci_id,
        lag(has_patch_map) over item_order as previous_has_patch_map,
        has_patch_map,
        lag(baseline_id) over item_order as previous_baseline_id,
        baseline_id,
        lag(execution_type) over item_order as previous_execution_type,
        execution_type,
    from items
    window item_order as (
        partition by account_id, aws_region, instance_id
        order by captured_at, try_cast(state_id as bigint), state_id, ci_id
    )
),
flips as (
    select
        account_id,
        aws_region,
        instance_id,
        previous_captured_at,
        captured_at,
        previous_ci_id,
        ci_id,
        previous_baseline_id,
        baseline_id,
        previous_execution_type,
        execution_type,
        baseline_id is distinct from previous_baseline_id as is_baseline_change,
        execution_type is distinct from previous_execution_type as is_execution_type_change,
    from paired
    where previous_has_patch_map and has_patch_map
        and (baseline_id is distinct from previous_baseline_id
             or execution_type is distinct from previous_execution_type)
)
select * from flips
