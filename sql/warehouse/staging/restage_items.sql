-- Step (patchtrail/warehouse/restage.py): stage landed items again from their flattened frames.
-- Reads: registered tables restage_instances, restage_patches (transforms.flatten's frames).
-- Writes: staging.instance_snapshots, staging.patch_observations (one row per ci_id, patch_id).
insert into staging.instance_snapshots by name
select * from restage_instances;

insert into staging.patch_observations by name
select * from restage_patches
qualify row_number() over (partition by ci_id, patch_id) = 1;
