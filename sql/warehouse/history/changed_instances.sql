-- history.changed_instances(known_at, from_load, scope := null)
-- Grain: one row per instance (account_id, aws_region, instance_id) whose history has to be
-- recomputed, with from_at = the earliest capture time among its changed items.
-- An item is changed when it was landed by load `from_load` or a later one (a merge), or was
-- ingested after `known_at` (a view of history as known at an earlier recording time). Every item
-- captured before from_at is the same on both sides of the change, so every version that ended
-- before from_at stands as it is (see history/recomputed_*.sql).
-- Reads: landing.configuration_items.
-- Parameters: known_at (timestamptz; 'infinity': every item is known),
--             from_load (bigint; null: no load counts as new),
--             scope (list of struct(account_id, aws_region, instance_id); null: every instance):
--             only these instances (the merge recomputes only those it cannot append to).
create or replace macro history.changed_instances(known_at, from_load, scope := null) as table
with
items as (
    select account_id, aws_region, instance_id, captured_at, ingested_at, load_id,
    from landing.configuration_items
),
changed_items as (
    select *
    from items
    where load_id >= from_load or ingested_at > cast(known_at as timestamptz)
),
per_instance as (
    select account_id, aws_region, instance_id, min(captured_at) as from_at,
    from changed_items
    group by account_id, aws_region, instance_id
),
in_scope as (
    select *
    from per_instance
    where scope is null
        or struct_pack(account_id, aws_region, instance_id) in (select unnest(scope))
)
select * from in_scope
