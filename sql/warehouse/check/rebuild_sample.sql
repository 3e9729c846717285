-- Not a check: the instances `patchtrail check` may rebuild, in a fixed pseudo-random order
-- (a hash of the key), so a sample is the same instances every time for the same warehouse.
-- Grain: one row per (account_id, aws_region, instance_id) landed.
-- Reads: landing.configuration_items.
with
instances as (
    select distinct account_id, aws_region, instance_id
    from landing.configuration_items
)
select *
from instances
order by hash(account_id, aws_region, instance_id), account_id, aws_region, instance_id
