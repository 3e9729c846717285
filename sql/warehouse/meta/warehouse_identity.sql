-- meta.warehouse_identity
-- Grain: one row: the warehouse's id, made once, the first time the warehouse is published.
-- A view of constants, not a table: no statement can update it, and it holds no data (runs of
-- the same items give the same tables whether or not they were published). A published copy
-- carries it, and `patchtrail publish` replaces only copies with its own id (docs/bi.md,
-- "Whose copy is it").
-- Filled by patchtrail/publish/copy.py with values it made and checked: {warehouse_id} a random
-- UUID, {created_at} an ISO-8601 UTC time (a view cannot take bound parameters).
create schema if not exists meta;
create view if not exists meta.warehouse_identity as
select
    '{warehouse_id}'::varchar as warehouse_id,
    '{created_at}'::timestamptz as created_at;
