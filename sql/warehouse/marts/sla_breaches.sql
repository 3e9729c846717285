-- marts.sla_breaches(as_of, policy, known_at := 'infinity')
-- Grain: the rows of marts.sla_status(as_of, policy) that breach the SLA and are not waived.
-- Reads: marts.sla_status. Parameters: as for marts.sla_status.
create or replace macro marts.sla_breaches(as_of, policy, known_at := 'infinity') as table
with
status as (select * from marts.sla_status(as_of, policy, known_at := known_at)),
breaches as (
    select * exclude (is_breached, is_waived, waiver_ids)
    from status
    where is_breached and not is_waived
)
select * from breaches
