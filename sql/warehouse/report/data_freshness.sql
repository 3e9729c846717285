-- report/data_freshness (query)
-- The report's provenance line: when the newest landed item was captured, and the last load
-- that succeeded.
-- Grain: one row.   Reads: landing.configuration_items, landing.loads.
with
items as (select * from landing.configuration_items),
loads as (select * from landing.loads),
freshness as (
    select
        (select max(captured_at) from items) as data_as_of,
        (select max(load_id) from loads where status = 'succeeded') as last_load,
)
select * from freshness
