-- spark patch_states
-- Grain: one row per canonical PatchState, with the key any spelling reduces to (lower case,
-- no `_` or spaces: INSTALLED_OTHER, installedOther -> installedother), as transforms/flatten.py
-- PATCH_STATES. `is_non_compliant` marks the states that make a patch (and its instance)
-- non-compliant. The one place that lists the states.
with
states as (
    select * from values
        ('Installed', 'installed', false),
        ('InstalledOther', 'installedother', false),
        ('InstalledPendingReboot', 'installedpendingreboot', true),
        ('InstalledRejected', 'installedrejected', true),
        ('Missing', 'missing', true),
        ('Failed', 'failed', true),
        ('NotApplicable', 'notapplicable', false),
        ('AvailableSecurityUpdate', 'availablesecurityupdate', false)
        as states(state, state_key, is_non_compliant)
)
select * from states
