-- marts.waivers
-- Grain: one row per waiver (waiver_id) of the register loaded by `patchtrail waivers load FILE`
-- (the file replaces the whole register). A waiver exempts the remediation episodes it matches
-- from SLA breaches while it is in force: in_force_from <= as_of < in_force_until, i.e. from
-- starts_on (midnight UTC; null = always) until its expiry date expires_on (midnight UTC): it
-- stops applying on its expiry date. Scope: every non-null scope column must match the episode
-- (cve_id: one of the episode's CVE ids); at least one is set.
create table if not exists marts.waivers (
    waiver_id varchar not null,
    account_id varchar,
    aws_region varchar,
    patch_group varchar,
    instance_id varchar,
    patch_id varchar,
    cve_id varchar,
    reason varchar not null,
    approver varchar not null,
    ticket varchar,
    starts_on date,
    expires_on date not null,
    in_force_from timestamptz,           -- starts_on at 00:00 UTC
    in_force_until timestamptz not null, -- expires_on at 00:00 UTC
    source varchar not null,             -- the register file's path
    source_sha256 varchar not null,
    loaded_at timestamptz not null,
);
