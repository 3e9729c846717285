-- Step (patchtrail/warehouse/land.py: undo_object): remove what the object being read landed so
-- far, so a bad object lands nothing at all.
-- Reads: temp table object_landed.   Writes: staging.*, landing.configuration_items,
-- landing.rejected_records.   Parameters: $load_id (bigint), $source_refs (varchar[]: the
-- object's source refs whose rejected records go too; empty: none).
delete from staging.patch_observations
where ci_id in (select ci_id from object_landed where is_staged);

delete from staging.instance_snapshots
where ci_id in (select ci_id from object_landed where is_staged);

delete from landing.configuration_items as l
using object_landed as o
where l.ci_id = o.ci_id and l.content_sha256 is not distinct from o.content_sha256
    and l.load_id = $load_id;

delete from landing.rejected_records
where load_id = $load_id and source_ref in (select unnest($source_refs::varchar[]));

delete from object_landed;
