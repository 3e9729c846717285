-- marts.sla_policies
-- Grain: one row per (policy_name, severity): the most days an episode of that severity may stay
-- open. Built-in presets (source 'preset') are rewritten every time the schema is applied; policies
-- loaded from files (`patchtrail policies load`) keep the file's path and SHA-256.
-- severity_source says which severity of an episode a policy reads: 'severity' (the compliance
-- level the patch baseline gives), 'vendor' (the vendor's severity: Critical, Important -> HIGH,
-- Moderate/Medium -> MEDIUM, Low) or 'highest' (the higher of the two).
-- Presets (clock: first seen missing):
--   pci-dss-4.0  PCI DSS v4.0.1 6.3.3: critical within one month (30 days).
--   fedramp      FedRAMP Rev5 ConMon: critical and high 30 days, moderate 90, low 180.
--   internal     patchtrail's default: critical 14 days, high 30, medium 90, low 180.
create table if not exists marts.sla_policies (
    policy_name varchar not null,
    severity varchar not null,           -- CRITICAL | HIGH | MEDIUM | LOW | INFORMATIONAL | UNSPECIFIED
    max_days integer not null,
    severity_source varchar not null,    -- severity | vendor | highest
    description varchar,
    source varchar not null,             -- 'preset' or the policy file's path
    source_sha256 varchar,
);
delete from marts.sla_policies where source = 'preset';
insert into marts.sla_policies values
    ('pci-dss-4.0', 'CRITICAL', 30, 'severity',
     'PCI DSS v4.0.1 requirement 6.3.3: critical patches within one month', 'preset', null),
    ('fedramp', 'CRITICAL', 30, 'severity',
     'FedRAMP Rev5 continuous monitoring: critical/high 30 days, moderate 90, low 180', 'preset', null),
    ('fedramp', 'HIGH', 30, 'severity',
     'FedRAMP Rev5 continuous monitoring: critical/high 30 days, moderate 90, low 180', 'preset', null),
    ('fedramp', 'MEDIUM', 90, 'severity',
     'FedRAMP Rev5 continuous monitoring: critical/high 30 days, moderate 90, low 180', 'preset', null),
    ('fedramp', 'LOW', 180, 'severity',
     'FedRAMP Rev5 continuous monitoring: critical/high 30 days, moderate 90, low 180', 'preset', null),
    ('internal', 'CRITICAL', 14, 'severity',
     'patchtrail default: critical 14 days, high 30, medium 90, low 180', 'preset', null),
    ('internal', 'HIGH', 30, 'severity',
     'patchtrail default: critical 14 days, high 30, medium 90, low 180', 'preset', null),
    ('internal', 'MEDIUM', 90, 'severity',
     'patchtrail default: critical 14 days, high 30, medium 90, low 180', 'preset', null),
    ('internal', 'LOW', 180, 'severity',
     'patchtrail default: critical 14 days, high 30, medium 90, low 180', 'preset', null);
