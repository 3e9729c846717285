-- meta.warehouse_identity
-- Grain: one row, made once, the first time the warehouse is published: the warehouse's id.
-- A published copy carries the row of the warehouse it came from, and `patchtrail publish`
-- replaces only copies whose id is its own (docs/bi.md, "Whose copy is it").
create schema if not exists meta;
create table if not exists meta.warehouse_identity (
    warehouse_id varchar not null,
    created_at timestamptz not null,
    created_path varchar not null,
);
