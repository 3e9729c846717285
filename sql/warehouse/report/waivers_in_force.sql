-- report/waivers_in_force (query)
-- Grain: one row per waiver of marts.waivers in force at $as_of: its scope in words, expiry,
-- approver, ticket, reason, and how many missing patches it exempts under $thresholds then.
-- Parameters: $as_of (timestamptz), $thresholds (list of structs).
with
waivers as (select * from marts.waivers),
status as (select * from marts.sla_status_for($as_of, $thresholds)),
covered as (
    select waiver_id, count(*) as patches_covered,
    from status, unnest(status.waiver_ids) as u(waiver_id)
    group by waiver_id
),
in_force as (
    select
        w.waiver_id,
        concat_ws(', ',
            'account ' || w.account_id, 'region ' || w.aws_region,
            'patch group ' || w.patch_group, 'instance ' || w.instance_id,
            'patch ' || w.patch_id, w.cve_id) as scope,
        w.expires_on,
        w.approver,
        w.ticket,
        w.reason,
        coalesce(c.patches_covered, 0) as patches_covered,
    from waivers as w
    left join covered as c using (waiver_id)
    where (w.in_force_from is null or w.in_force_from <= cast($as_of as timestamptz))
        and cast($as_of as timestamptz) < w.in_force_until
)
select * from in_force order by expires_on, waiver_id
