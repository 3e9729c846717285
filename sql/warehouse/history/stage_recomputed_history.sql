-- Stage the recomputed versions of every changed instance in temp tables, before anything is
-- deleted (the recomputation reads the stored versions open at each instance's from_at).
-- Parameters: $from_load (bigint): items landed by this load or later are the new ones.
-- Run inside the run's transaction, then delete_affected_history.sql and the two merge files.
create or replace temp table changed_history as
select * from history.changed_instances('infinity', $from_load);

create or replace temp table recomputed_instance_compliance as
select * from history.recomputed_instance_compliance('infinity', $from_load);

create or replace temp table recomputed_patch_state as
select * from history.recomputed_patch_state('infinity', $from_load);
