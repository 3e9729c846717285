-- check/traceable
-- Invariant: every history version was opened by a landed item of the same instance, captured
-- at the version's valid_from.
-- Grain of the result: one row per version that cannot be traced. Reads: `versions`,
-- landing.configuration_items.
with
versions as (select * from versions),
items as (
    select distinct ci_id, account_id, aws_region, instance_id, captured_at,
    from landing.configuration_items
),
violations as (
    select v.history_table, v.account_id, v.aws_region, v.instance_id, v.patch_id, v.valid_from, v.ci_id,
    from versions as v
    left join items as i
        on i.ci_id = v.ci_id
        and i.account_id = v.account_id
        and i.aws_region = v.aws_region
        and i.instance_id = v.instance_id
        and i.captured_at = v.valid_from
    where i.ci_id is null
)
select * from violations
