-- Step (patchtrail/warehouse/land.py: fill_event_ids): items first landed from files get the
-- CloudTrail Lake eventID/eventTime of a Lake copy of the same item.
-- Reads: registered table object_events (ci_id, event_id, event_time).
-- Writes: landing.configuration_items (event_id, event_time where still null), and the eventTime
-- of those items' rows in marts.patch_lists_by_item (rows of items landed by this load are
-- written later, by marts/refresh_patch_lists_by_load.sql, from the filled landing row).
update landing.configuration_items as l
set event_id = e.event_id, event_time = e.event_time
from (
    select ci_id, min(event_id) as event_id, min(event_time) as event_time
    from object_events
    group by ci_id
) as e
where l.ci_id = e.ci_id and l.event_id is null;

update marts.patch_lists_by_item as m
set eventTime = l.event_time
from landing.configuration_items as l
semi join object_events as e using (ci_id)
where m.ci_id = l.ci_id
    and l.event_time is not null
    and m.eventTime is distinct from l.event_time;
