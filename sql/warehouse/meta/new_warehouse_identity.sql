-- Give the warehouse its id, once: a random UUID; later calls change nothing.
-- Writes: meta.warehouse_identity.   Parameters: $created_path (absolute path of the warehouse).
insert into meta.warehouse_identity
select
    gen_random_uuid()::varchar as warehouse_id,
    now() as created_at,
    $created_path as created_path,
where not exists (select 1 from meta.warehouse_identity)
