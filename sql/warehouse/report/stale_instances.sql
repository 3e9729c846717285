-- report/stale_instances (query)
-- Grain: one row per instance live at $as_of with no recorded change for more than $max_age_days.
-- Parameters: $as_of (timestamptz), $max_age_days (integer).
with
staleness as (select * from marts.scan_staleness($as_of, $max_age_days))
select * from staleness where is_stale order by last_captured_at, account_id, instance_id limit 50
