-- Evidence: instance status. One row per instance live at valid time $as_of, as known at
-- recording time $known_at ('infinity': everything landed), with the latest item captured at or
-- before $as_of that was known then (which confirms the state).
-- Reads: marts.instance_compliance_as_of_known, landing.configuration_items.
-- Parameters: $as_of, $known_at (timestamptz).
with
instances as (
    select * from marts.instance_compliance_as_of_known($as_of, $known_at)
),
known_items as (
    select account_id, aws_region, instance_id, ci_id, captured_at, state_id,
    from landing.configuration_items
    where captured_at <= cast($as_of as timestamptz)
        and ingested_at <= cast($known_at as timestamptz)
),
last_items as (
    select
        account_id,
        aws_region,
        instance_id,
        arg_max(ci_id, {t: captured_at, n: try_cast(state_id as bigint), s: state_id, c: ci_id})
            as last_item_ci_id,
        max(captured_at) as last_item_captured_at,
    from known_items
    group by account_id, aws_region, instance_id
),
status as (
    select i.*, l.last_item_ci_id, l.last_item_captured_at,
    from instances as i
    left join last_items as l using (account_id, aws_region, instance_id)
)
select * from status
order by account_id, aws_region, instance_id
