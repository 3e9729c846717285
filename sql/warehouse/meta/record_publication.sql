-- Record in a copy being published where it comes from (read back by `published_from`).
-- Writes: meta.publication.
-- Parameters: $warehouse_id, $warehouse_path, $published_at, $last_load_id, $patchtrail_version.
insert into meta.publication
values ($warehouse_id, $warehouse_path, $published_at, $last_load_id, $patchtrail_version)
