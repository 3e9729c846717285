-- marts.sla_breaches_for(as_of, thresholds, known_at := 'infinity')
-- Grain: the rows of marts.sla_status_for that breach the SLA at `as_of` and are not waived.
-- Reads: marts.sla_status_for. Parameters: as for marts.sla_status_for.
create or replace macro marts.sla_breaches_for(as_of, thresholds, known_at := 'infinity') as table
with
status as (select * from marts.sla_status_for(as_of, thresholds, known_at := known_at)),
breaches as (
    select * exclude (is_breached, is_waived, waiver_ids)
    from status
    where is_breached and not is_waived
)
select * from breaches
