-- Step (patchtrail/warehouse/land.py): keep a batch's rejected records with their reasons.
-- Reads: registered table batch_rejected.   Writes: landing.rejected_records.
-- Parameters: $load_id (bigint), $max_payload (int: payload characters kept),
-- $rejected_at (timestamptz).
insert into landing.rejected_records
select
    $load_id,
    source,
    source_ref,
    record_ref,
    reason,
    left(payload, $max_payload),
    $rejected_at::timestamptz,
from batch_rejected
