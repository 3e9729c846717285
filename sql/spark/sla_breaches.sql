-- spark sla_breaches
-- Grain: the rows of sla_status that breach the SLA at as_of and are not waived
-- (marts.sla_breaches_for, labelled as sql/warehouse/publish/sla_breaches.sql).
-- Reads: temp view sla_status.
with
status as (select * from sla_status),
breaches as (
    select
        policy_name, policy_thresholds_sha256, as_of, account_id, aws_region, instance_id,
        patch_id, state, sla_severity, severity, vendor_severity, classification, title, cve_ids,
        baseline_id, patch_group, first_seen_missing, days_missing, max_days, due_at,
        days_overdue, episode_no, opened_ci_id
    from status
    where is_breached and not is_waived
)
select * from breaches
