-- Step of a full rebuild (patchtrail/warehouse/history.py: mark_all_affected): every staged
-- instance is affected, so the merge recomputes its history from its first item.
-- Reads: staging.instance_snapshots.   Writes: temp table affected_instances.
insert into affected_instances
select distinct account_id, aws_region, instance_id
from staging.instance_snapshots
