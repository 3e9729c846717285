-- staging.patch_observations
-- Grain: one row per (ci_id, patch_id): a patch as one configuration item reports it.
-- The ComplianceSummary entry of Content.Patch is not a patch and never appears here.
-- Inputs: the patches frame of transforms.flatten (same columns, same order; inserted by name).
-- Two map keys of one item with the same patch Id: only the smallest map key's entry is kept.
-- New columns go at the end, with an `add column if not exists` below (older rows hold null).
create table if not exists staging.patch_observations (
    ci_id varchar not null,
    account_id varchar not null,
    aws_region varchar not null,
    instance_id varchar not null,
    captured_at timestamptz not null,
    patch_id varchar not null,           -- KB id (Windows) or name.arch (Linux)
    title varchar,
    state varchar not null,              -- canonical PatchState, or Unknown (see raw_state)
    compliance_status varchar,           -- COMPLIANT | NON_COMPLIANT | '' (Windows not applicable)
    severity varchar,                    -- compliance level from the baseline
    vendor_severity varchar,             -- PatchSeverity (MSRC / updateinfo)
    classification varchar,
    installed_at timestamptz,            -- null: empty, never installed (epoch 0) or unparseable
    cve_ids varchar[],
    baseline_id varchar,
    patch_group varchar,
    raw_state varchar,                   -- PatchState as received when state = 'Unknown' ('' if absent)
    installed_time_raw varchar,          -- InstalledTime text that could not be parsed
);
alter table staging.patch_observations add column if not exists raw_state varchar;
alter table staging.patch_observations add column if not exists installed_time_raw varchar;
