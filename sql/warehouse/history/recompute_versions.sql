-- Compute the new versions of the instances that cannot be appended to (temp table
-- recompute_history, from merge_scope.sql), before anything is deleted (the recomputation reads
-- the stored versions open at each instance's from_at).
-- Parameters: $from_load (bigint): items landed by this load or later are the new ones.
-- Run inside the run's transaction, then delete_affected_history.sql and the two insert_recomputed_*.sql files.
create or replace temp table recomputed_instance_compliance as
select *
from history.recomputed_instance_compliance('infinity', $from_load, scope := (
    select list(struct_pack(account_id, aws_region, instance_id)) from recompute_history
));

create or replace temp table recomputed_patch_state as
select *
from history.recomputed_patch_state('infinity', $from_load, scope := (
    select list(struct_pack(account_id, aws_region, instance_id)) from recompute_history
));
