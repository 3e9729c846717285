-- summary/status (query, `patchtrail status`)
-- Grain: one row: the warehouse's main counts and time span, one column per fact, named as the
-- command prints it (in this order).
-- Reads: landing.loads, landing.source_objects, landing.configuration_items,
-- landing.rejected_records, staging.patch_observations, history.*.
with
loads as (select * from landing.loads),
items as (select * from landing.configuration_items),
facts as (
    select
        (select count(*) filter (where status = 'succeeded') || ' / '
            || count(*) filter (where status = 'failed') from loads) as "loads (succeeded / failed)",
        (select max(finished_at) from loads where status = 'succeeded') as "last load",
        (select count(*) from landing.source_objects) as "source objects recorded",
        (select count(*) from items) as "configuration items",
        (select min(captured_at) || ' / ' || max(captured_at) from items)
            as "items captured from / to",
        (select count(*) from staging.patch_observations) as "patch observations",
        (select count(*) from history.instance_compliance) as "instance versions",
        (select count(*) from history.patch_state) as "patch versions",
        (select count(*) from landing.rejected_records) as "rejected records",
)
select * from facts
