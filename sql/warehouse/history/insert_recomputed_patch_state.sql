-- Insert the recomputed versions computed by recompute_versions.sql (temp table
-- recomputed_patch_state) into history.patch_state, by name (never by position).
-- A patch version continues only while consecutive items of the instance report the patch with
-- identical tracked attributes; an item that omits the patch (or deletes the instance) ends it.
-- Run after delete_affected_history.sql, inside the run's transaction.
insert into history.patch_state by name
select * from recomputed_patch_state
