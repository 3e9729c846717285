-- staging.patch_observations
-- Grain: one row per (ci_id, patch_id): a patch as one configuration item reports it.
-- The ComplianceSummary entry of Content.Patch is not a patch and never appears here.
create table if not exists staging.patch_observations (
    ci_id varchar not null,
    account_id varchar not null,
    aws_region varchar not null,
    instance_id varchar not null,
    captured_at timestamptz not null,
    patch_id varchar not null,           -- KB id (Windows) or name.arch (Linux)
    title varchar,
    state varchar not null,              -- canonical PatchState
    compliance_status varchar,           -- COMPLIANT | NON_COMPLIANT | '' (Windows not applicable)
    severity varchar,                    -- compliance level from the baseline
    vendor_severity varchar,             -- PatchSeverity (MSRC / updateinfo)
    classification varchar,
    installed_at timestamptz,
    cve_ids varchar[],
    baseline_id varchar,
    patch_group varchar,
);
