-- history.patch_state
-- Grain: one row per version of one patch on one instance (SCD type 2).
-- Key: (account_id, aws_region, instance_id, patch_id, valid_from).
-- A version starts when the patch appears or a tracked attribute changes; it ends at the next
-- item of the instance that reports the patch differently, omits it, deletes the instance or is
-- ResourceNotRecorded (recording stopped).
-- Inputs: history.recomputed_patch_state (inserted by name). New columns go at the end, with an
-- `add column if not exists` below (older rows hold null until `patchtrail rebuild`).
create table if not exists history.patch_state (
    account_id varchar not null,
    aws_region varchar not null,
    instance_id varchar not null,
    patch_id varchar not null,
    valid_from timestamptz not null,
    valid_to timestamptz,
    is_current boolean not null,
    ci_id varchar not null,
    recorded_at timestamptz not null,
    state varchar not null,
    compliance_status varchar,
    severity varchar,
    vendor_severity varchar,
    classification varchar,
    title varchar,
    installed_at timestamptz,
    cve_ids varchar[],
    baseline_id varchar,
    patch_group varchar,
    raw_state varchar,
    installed_time_raw varchar,
);
alter table history.patch_state add column if not exists raw_state varchar;
alter table history.patch_state add column if not exists installed_time_raw varchar;
