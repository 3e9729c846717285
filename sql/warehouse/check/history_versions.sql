-- check/history_versions
-- Grain: one row per history version of history.instance_compliance and history.patch_state,
-- with the key it belongs to and its neighbour in valid time. Input of the history checks.
-- Reads: history.instance_compliance, history.patch_state.
with
instance_versions as (
    select
        'instance_compliance' as history_table, account_id, aws_region, instance_id,
        null::varchar as patch_id, valid_from, valid_to, is_current, ci_id,
    from history.instance_compliance
),
patch_versions as (
    select
        'patch_state' as history_table, account_id, aws_region, instance_id, patch_id,
        valid_from, valid_to, is_current, ci_id,
    from history.patch_state
),
versions as (
    select * from instance_versions
    union all
    select * from patch_versions
),
with_next as (
    select
        *,
        lead(valid_from) over key_order as next_valid_from,
    from versions
    window key_order as (
        partition by history_table, account_id, aws_region, instance_id, patch_id
        order by valid_from, valid_to nulls last
    )
)
select * from with_next
