-- Step (patchtrail/warehouse/land.py: fill_event_ids): items first landed from files get the
-- CloudTrail Lake eventID/eventTime of a Lake copy of the same item.
-- Reads: registered table object_events (ci_id, event_id, event_time).
-- Writes: landing.configuration_items (event_id, event_time where still null).
update landing.configuration_items as l
set event_id = e.event_id, event_time = e.event_time
from (
    select ci_id, min(event_id) as event_id, min(event_time) as event_time
    from object_events
    group by ci_id
) as e
where l.ci_id = e.ci_id and l.event_id is null
