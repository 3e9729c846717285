-- staging.instance_snapshots
-- Grain: one row per landed configuration item (ci_id): the instance-level facts it states.
-- Derived from landing.configuration_items by transforms/flatten.py; rebuildable at any time.
-- Inputs: the instances frame of transforms.flatten (same columns, same order; inserted by name).
-- New columns go at the end, with an `add column if not exists` below, so a warehouse created
-- before them upgrades in place (its older rows hold the defaults; `patchtrail rebuild`
-- recomputes them).
create table if not exists staging.instance_snapshots (
    ci_id varchar not null,
    account_id varchar not null,
    aws_region varchar not null,
    instance_id varchar not null,
    captured_at timestamptz not null,
    state_id varchar not null,
    item_status varchar not null,
    is_deleted boolean not null,         -- ResourceDeleted / ResourceDeletedNotRecorded: a tombstone
    has_patch_map boolean not null,      -- Content.Patch present (the seed queries' row filter)
    compliance_status varchar,           -- ComplianceSummary.Status (derived if absent)
    overall_severity varchar,
    baseline_id varchar,
    patch_group varchar,
    execution_type varchar,              -- Command | PatchPolicy
    patch_count integer,
    installed_count integer,
    installed_other_count integer,
    installed_pending_reboot_count integer,
    installed_rejected_count integer,
    missing_count integer,
    failed_count integer,
    not_applicable_count integer,
    available_security_update_count integer,
    compliant_critical_count integer,
    compliant_high_count integer,
    compliant_medium_count integer,
    compliant_low_count integer,
    compliant_informational_count integer,
    compliant_unspecified_count integer,
    non_compliant_critical_count integer,
    non_compliant_high_count integer,
    non_compliant_medium_count integer,
    non_compliant_low_count integer,
    non_compliant_informational_count integer,
    non_compliant_unspecified_count integer,
    unknown_count integer,               -- patches whose PatchState is absent or not canonical
    is_recorded boolean not null default true, -- false for ResourceNotRecorded: compliance unknown
);
alter table staging.instance_snapshots add column if not exists unknown_count integer;
alter table staging.instance_snapshots add column if not exists is_recorded boolean default true;
