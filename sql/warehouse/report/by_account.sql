-- report/by_account (query)
-- Grain: one row per account: instances live at $as_of, compliant %, open missing critical/high
-- patches (instance x patch). Parameters: $as_of (timestamptz).
with
instances as (select * from marts.instance_compliance_as_of($as_of)),
missing as (select * from marts.missing_patches_as_of($as_of)),
instance_counts as (
    select
        account_id,
        count(*) as instances,
        round(100.0 * count(*) filter (where compliance_status = 'COMPLIANT') / count(*), 1)
            as compliant_pct,
    from instances
    group by account_id
),
missing_counts as (
    select
        account_id,
        count(*) filter (where severity = 'CRITICAL') as missing_critical,
        count(*) filter (where severity = 'HIGH') as missing_high,
    from missing
    group by account_id
),
joined as (
    select
        i.account_id,
        i.instances,
        i.compliant_pct,
        coalesce(m.missing_critical, 0) as missing_critical,
        coalesce(m.missing_high, 0) as missing_high,
    from instance_counts as i
    left join missing_counts as m using (account_id)
)
select * from joined order by compliant_pct, account_id
