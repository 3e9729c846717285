-- marts.is_non_compliant(state, compliance_status)
-- Scalar macro: the one definition of a missing (non-compliant) patch state, used by
-- marts.remediation_episodes_as_of and through it by every missing-patch, SLA, summary and
-- report figure (marts.missing_patches_as_of, marts.account_summary, marts.fleet_summary, the
-- HTML report, `patchtrail status`).
-- Non-compliant: Missing, Failed, InstalledPendingReboot (installed, not in effect until the
-- reboot), InstalledRejected (installed although the baseline rejects it), and
-- AvailableSecurityUpdate when the item reports it NON_COMPLIANT (a baseline setting).
-- Never: Installed, InstalledOther, NotApplicable, a compliant AvailableSecurityUpdate.
-- Parameters: state (PatchState), compliance_status (the patch's Status: COMPLIANT | NON_COMPLIANT).
create or replace macro marts.is_non_compliant(state, compliance_status) as (
    coalesce(
        state in ('Missing', 'Failed', 'InstalledPendingReboot', 'InstalledRejected')
        or (state = 'AvailableSecurityUpdate' and compliance_status = 'NON_COMPLIANT'),
        false
    )
)
