-- check/no_overlaps
-- Invariant: the versions of one history key never overlap in valid time: each version ends at
-- or before the next one starts, and only the last one may be open (valid_to null).
-- Grain of the result: one row per version that overlaps its successor. Reads: `versions`.
with
versions as (select * from versions),
violations as (
    select
        history_table, account_id, aws_region, instance_id, patch_id, valid_from, valid_to,
        next_valid_from,
    from versions
    where next_valid_from is not null
        and (valid_to is null or valid_to > next_valid_from)
)
select * from violations
