-- Step (patchtrail/warehouse/land.py: resolve_conflicts): the instances of identities whose
-- variant in use changed are affected (their history is merged again at the end of the run).
-- Reads: temp table conflict_changed, landing.configuration_items.
-- Writes: temp table affected_instances (each instance once).
insert into affected_instances
select distinct account_id, aws_region, instance_id
from landing.configuration_items
where ci_id in (select ci_id from conflict_changed)
except
select account_id, aws_region, instance_id from affected_instances
