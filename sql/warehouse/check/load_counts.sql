-- check/load_counts
-- Invariant: for every succeeded ingest load and every object it read,
-- items read = landed + duplicate + skipped + rejected.
-- Grain of the result: one row per load or object where the counts do not add up.
-- Reads: landing.loads, landing.source_objects.
with
loads as (
    select
        'load ' || load_id as what, items_read,
        items_landed + items_duplicate + items_skipped + items_rejected as accounted,
    from landing.loads
    where status = 'succeeded' and source <> 'rebuild'
),
objects as (
    select
        uri || ' (load ' || load_id || ')' as what, items_read,
        items_landed + items_duplicate + items_skipped + items_rejected as accounted,
    from landing.source_objects
    where status = 'landed'
),
violations as (
    select * from loads where items_read is distinct from accounted
    union all
    select * from objects where items_read is distinct from accounted
)
select * from violations
