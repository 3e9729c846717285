-- Remove the versions that the staged recomputation replaces: for each instance in temp table
-- recompute_history, every version still open at its from_at or starting after it
-- (valid_to is null or valid_to >= from_at). Versions that ended before from_at stand.
delete from history.instance_compliance as h
using recompute_history as c
where h.account_id = c.account_id and h.aws_region = c.aws_region and h.instance_id = c.instance_id
    and (h.valid_to is null or h.valid_to >= c.from_at);
delete from history.patch_state as h
using recompute_history as c
where h.account_id = c.account_id and h.aws_region = c.aws_region and h.instance_id = c.instance_id
    and (h.valid_to is null or h.valid_to >= c.from_at);
