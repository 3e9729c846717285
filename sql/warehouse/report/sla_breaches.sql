-- report/sla_breaches (query)
-- Grain: one row per (instance, patch) breaching the SLA thresholds $thresholds at $as_of, waivers
-- applied (marts.sla_breaches_for): the columns a reader acts on, most overdue first, at most
-- 50 rows; total_breaches counts them all.
-- Parameters: $as_of (timestamptz), $thresholds (list of struct(severity, max_days, severity_source)).
with
breaches as (select * from marts.sla_breaches_for($as_of, $thresholds)),
shown as (
    select
        account_id,
        aws_region,
        instance_id,
        patch_id,
        sla_severity,
        first_seen_missing,
        due_at,
        days_overdue,
        title,
        count(*) over () as total_breaches,
    from breaches
)
select * from shown
order by days_overdue desc, sla_severity, account_id, instance_id, patch_id
limit 50
