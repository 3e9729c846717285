-- summary/top_accounts (query, a run summary's least compliant accounts)
-- Grain: one row per account with a non-compliant instance, least compliant first, at most $top.
-- Reads: marts.account_summary.   Parameters: $top (int).
with
accounts as (select * from marts.account_summary),
non_compliant as (select * from accounts where non_compliant > 0)
select * from non_compliant
order by compliance_pct, missing_critical_patches desc, missing_high_patches desc, account_id
limit $top
