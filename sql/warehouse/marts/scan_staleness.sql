-- marts.scan_staleness(as_of, max_age_days)
-- Grain: one row per instance live at `as_of` (as in marts.instance_compliance_as_of): its last
-- configuration item captured at or before as_of, how long ago that was, and is_stale =
-- as_of - last_captured_at > max_age_days days.
-- Caveat: under DAILY recording AWS Config writes an item only when the compliance data changed,
-- so a scan that changed nothing leaves no item: "stale" means "no recorded change for N days",
-- an upper bound on the time since the last scan. With CONTINUOUS recording it is scan staleness.
-- Reads: marts.instance_compliance_as_of, staging.instance_snapshots.
-- Parameters: as_of (timestamptz), max_age_days (integer).
create or replace macro marts.scan_staleness(as_of, max_age_days) as table
with
live as (
    select account_id, aws_region, instance_id,
    from marts.instance_compliance_as_of(as_of)
),
items as (
    select account_id, aws_region, instance_id, ci_id, captured_at, state_id,
    from staging.instance_snapshots
    where captured_at <= cast(as_of as timestamptz)
),
last_items as (
    select
        account_id,
        aws_region,
        instance_id,
        arg_max(ci_id, {t: captured_at, n: try_cast(state_id as bigint), s: state_id, c: ci_id})
            as last_ci_id,
        max(captured_at) as last_captured_at,
    from items
    semi join live using (account_id, aws_region, instance_id)
    group by account_id, aws_region, instance_id
),
staleness as (
    select
        account_id,
        aws_region,
        instance_id,
        last_captured_at,
        last_ci_id,
        epoch(cast(as_of as timestamptz) - last_captured_at) / 86400.0 as days_since_last_item,
        cast(max_age_days as integer) as max_age_days,
        cast(as_of as timestamptz) - last_captured_at > to_days(cast(max_age_days as integer))
            as is_stale,
    from last_items
)
select * from staleness
