-- summary/fleet (query, a run summary's fleet figures)
-- Grain: one row (marts.fleet_summary).
select * from marts.fleet_summary
