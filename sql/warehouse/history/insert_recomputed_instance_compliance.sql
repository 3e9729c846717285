-- Insert the recomputed versions computed by recompute_versions.sql (temp table
-- recomputed_instance_compliance) into history.instance_compliance, by name (never by position:
-- a warehouse upgraded in place has its newer columns at the end).
-- History is a pure function of the landed items: order, batching and repetition do not matter.
-- Items are ordered by capture time, then numeric state id, then ci_id (a total order).
-- Run after delete_affected_history.sql, inside the run's transaction.
insert into history.instance_compliance by name
select * from recomputed_instance_compliance
