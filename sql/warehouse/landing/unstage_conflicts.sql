-- Step (patchtrail/warehouse/land.py: resolve_conflicts): drop the staging rows of identities
-- whose variant in use changed; they are staged again from the new variant.
-- Reads: temp table conflict_changed (ci_id).   Writes: staging.*.
delete from staging.patch_observations where ci_id in (select ci_id from conflict_changed);

delete from staging.instance_snapshots where ci_id in (select ci_id from conflict_changed);
