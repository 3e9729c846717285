-- report/breakdown (query)
-- Grain: one row per account and one per region (`dimension` says which): instances live at
-- $as_of, compliant %, and open missing critical/high patches (instance x patch).
-- Parameters: $as_of (timestamptz).
with
instances as (select * from marts.instance_compliance_as_of($as_of)),
missing as (select * from marts.missing_patches_as_of($as_of)),
instance_counts as (
    select
        case when grouping(account_id) = 0 then 'account' else 'region' end as dimension,
        coalesce(account_id, aws_region) as key,
        count(*) as instances,
        round(100.0 * count(*) filter (where compliance_status = 'COMPLIANT') / count(*), 1)
            as compliant_pct,
    from instances
    group by grouping sets ((account_id), (aws_region))
),
missing_counts as (
    select
        case when grouping(account_id) = 0 then 'account' else 'region' end as dimension,
        coalesce(account_id, aws_region) as key,
        count(*) filter (where severity = 'CRITICAL') as missing_critical,
        count(*) filter (where severity = 'HIGH') as missing_high,
    from missing
    group by grouping sets ((account_id), (aws_region))
),
joined as (
    select
        i.dimension,
        i.key,
        i.instances,
        i.compliant_pct,
        coalesce(m.missing_critical, 0) as missing_critical,
        coalesce(m.missing_high, 0) as missing_high,
    from instance_counts as i
    left join missing_counts as m using (dimension, key)
)
select * from joined order by dimension, compliant_pct, key
