-- history.instance_compliance
-- Grain: one row per version of an instance's compliance (SCD type 2).
-- Key: (account_id, aws_region, instance_id, valid_from). Valid time = configurationItemCaptureTime.
-- A version starts only when a tracked attribute changes. A ResourceDeleted or
-- ResourceDeletedNotRecorded item opens a tombstone version (is_deleted = true, attributes null)
-- that closes the previous one. A ResourceNotRecorded item ("discovered but not recorded": the
-- recorder stopped recording the type) is not a deletion: it opens a version with
-- is_deleted = false, is_recorded = false and every compliance attribute null ("unknown from here
-- on"), and ends every open patch version of the instance; a later OK item opens a normal version.
-- Inputs: history.recomputed_instance_compliance (inserted by name). New columns go at the end,
-- with an `add column if not exists` below; warehouses created before ResourceNotRecorded had these
-- semantics need `patchtrail rebuild` to apply them to the items landed before.
create table if not exists history.instance_compliance (
    account_id varchar not null,
    aws_region varchar not null,
    instance_id varchar not null,
    valid_from timestamptz not null,     -- capture time of the item that opened the version
    valid_to timestamptz,                -- capture time of the item that replaced it; null = current
    is_current boolean not null,
    is_deleted boolean not null,         -- tombstone: the instance was deleted
    ci_id varchar not null,              -- the item that opened the version
    item_status varchar not null,
    recorded_at timestamptz not null,    -- when the warehouse learned of that item (bitemporal)
    has_patch_map boolean not null,
    compliance_status varchar,
    overall_severity varchar,
    baseline_id varchar,
    patch_group varchar,
    execution_type varchar,
    patch_count integer,
    installed_count integer,
    installed_other_count integer,
    installed_pending_reboot_count integer,
    installed_rejected_count integer,
    missing_count integer,
    failed_count integer,
    not_applicable_count integer,
    available_security_update_count integer,
    non_compliant_critical_count integer,
    non_compliant_high_count integer,
    non_compliant_medium_count integer,
    non_compliant_low_count integer,
    non_compliant_informational_count integer,
    non_compliant_unspecified_count integer,
    unknown_count integer,
    is_recorded boolean not null default true, -- false: ResourceNotRecorded, compliance unknown
);
alter table history.instance_compliance add column if not exists unknown_count integer;
alter table history.instance_compliance add column if not exists is_recorded boolean default true;
