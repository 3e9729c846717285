-- marts.compliance_by_day(start_day, end_day)
-- Grain: one row per (day, account_id, aws_region, patch_group, baseline_id) for every UTC day
-- from start_day to end_day (inclusive) with at least one managed instance: the instances as they
-- stood at the end of the day (the version valid at day + 1 day - 1 microsecond), deleted
-- instances left out from their deletion on. compliant / non_compliant count the instances'
-- ComplianceSummary status; not_recorded_instances those whose version is ResourceNotRecorded
-- (recording stopped: compliance unknown, in managed_instances, neither compliant nor
-- non-compliant); compliance_pct = 100 * compliant / managed, 2 decimals. Counts add up
-- across groups; recompute the percentage from the sums.
-- Reads: history.instance_compliance. Parameters: start_day, end_day (date).
create or replace macro marts.compliance_by_day(start_day, end_day) as table
with
instance_compliance as (select * from history.instance_compliance),
days as (
    select
        cast(day as date) as day,
        timezone('UTC', cast(day as timestamp) + interval 1 day) as day_end,
    from range(cast(start_day as date), cast(end_day as date) + interval 1 day, interval 1 day)
        as t(day)
),
live as (
    select d.day, v.account_id, v.aws_region, v.patch_group, v.baseline_id, v.compliance_status,
        v.is_recorded,
    from days as d
    join instance_compliance as v
        on v.valid_from < d.day_end
        and coalesce(v.valid_to, 'infinity'::timestamptz) >= d.day_end
    where not v.is_deleted
),
counts as (
    select
        day,
        account_id,
        aws_region,
        patch_group,
        baseline_id,
        count(*) as managed_instances,
        count(*) filter (where compliance_status = 'COMPLIANT') as compliant_instances,
        count(*) filter (where compliance_status = 'NON_COMPLIANT') as non_compliant_instances,
        count(*) filter (where not coalesce(is_recorded, true)) as not_recorded_instances,
    from live
    group by day, account_id, aws_region, patch_group, baseline_id
),
with_pct as (
    select
        *,
        round(100.0 * compliant_instances / managed_instances, 2) as compliance_pct,
    from counts
)
select * from with_pct
