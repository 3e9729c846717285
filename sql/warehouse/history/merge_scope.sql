-- Split the instances a load changed (temp table changed_history) into those whose history can
-- be appended to (temp table append_items: one row per instance and its one new item) and those
-- that must be recomputed (temp table recompute_history).
-- Appended: the load brought exactly one item of the instance, captured after every item the
-- instance had before (the daily case: in order, one scan a day). Everything else (late or
-- out-of-order items, several new items, conflicts settled on older items) is recomputed from
-- its earliest changed item, as history/recomputed_*.sql describe.
-- Reads: landing.configuration_items, staging.instance_snapshots, history.changed_instances.
-- Parameters: $from_load (bigint): items landed by this load or later are the new ones.
create or replace temp table changed_history as
select * from history.changed_instances('infinity', $from_load);

create or replace temp table append_items as
with
items as (
    select account_id, aws_region, instance_id, ci_id, captured_at, load_id, ingested_at,
    from landing.configuration_items
    semi join changed_history using (account_id, aws_region, instance_id)
),
identities as (
    select
        account_id, aws_region, instance_id, ci_id,
        min(captured_at) as captured_at,
        min(load_id) as first_load,
        max(load_id) as last_load,
        min(ingested_at) as recorded_at,
    from items
    group by all
),
per_instance as (
    select
        account_id, aws_region, instance_id,
        count(*) filter (where last_load >= $from_load) as new_items,
        bool_or(first_load < $from_load and last_load >= $from_load) as old_item_changed,
        max(captured_at) filter (where last_load < $from_load) as last_before,
        any_value(ci_id) filter (where last_load >= $from_load) as ci_id,
        min(captured_at) filter (where last_load >= $from_load) as captured_at,
        min(recorded_at) filter (where last_load >= $from_load) as recorded_at,
    from identities
    group by account_id, aws_region, instance_id
)
select account_id, aws_region, instance_id, ci_id, captured_at, recorded_at,
from per_instance
where new_items = 1
    and not old_item_changed
    and (last_before is null or captured_at > last_before);

create or replace temp table recompute_history as
select c.*
from changed_history as c
anti join append_items using (account_id, aws_region, instance_id);
