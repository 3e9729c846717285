-- check/valid_intervals
-- Invariant: valid_to > valid_from when set, and is_current exactly when valid_to is null.
-- Grain of the result: one row per version that breaks it. Reads: `versions`.
with
versions as (select * from versions),
violations as (
    select history_table, account_id, aws_region, instance_id, patch_id, valid_from, valid_to, is_current,
    from versions
    where (valid_to is not null and valid_to <= valid_from)
        or is_current <> (valid_to is null)
)
select * from violations
