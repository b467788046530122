"""The phased rollout's actions (runbook "Phased Rollout & Feature Flags"), one per stage.

Each turns the rollout flag on for its stage's tenants with the flags CLI, recorded as
``release-gate``: sandbox ``python -m sandbox.flags --env {env} enable {rollout_flag}
--tenants {rollout_<stage>_tenants}`` (the DSN injected by the sandbox, never in argv);
icupa ``pnpm flags:enable`` in the release's checkout with ``DATABASE_URL=${ICUPA_DB_DSN}``.
The tenants are the target's ``rollout_<stage>_tenants`` variable, which must match
``[targets.<t>.checks.rollout.stages]`` (``checks/rollout.py`` checks it). A stage's action
runs only from its own unit, so it runs only once the earlier stages' analyses have passed:
a failed stage closes the gate and the engine refuses the later stages' actions.
``rollout_flags_off`` in ``checks/actions_rollback.py`` compensates all four.

Import this module from ``checks/conftest.py`` so the fixtures are visible to every suite.
"""

from __future__ import annotations

from plugin import release_action

__all__ = ["rollout_full_ga", "rollout_internal", "rollout_low_volume_ga", "rollout_pilot"]

rollout_internal = release_action(
    "rollout_internal",
    phase="rollout",
    step="internal",
    mutating=True,
    deploys=True,
    after=("platform_up",),
    description="Enables the rollout flag for the internal tenants (flags CLI).",
)
rollout_pilot = release_action(
    "rollout_pilot",
    phase="rollout",
    step="pilot",
    mutating=True,
    deploys=True,
    after=("platform_up",),
    description="Enables the rollout flag for the pilot tenants (flags CLI).",
)
rollout_low_volume_ga = release_action(
    "rollout_low_volume_ga",
    phase="rollout",
    step="low_volume_ga",
    mutating=True,
    deploys=True,
    after=("platform_up",),
    description="Enables the rollout flag for the low-volume GA tenants (flags CLI).",
)
rollout_full_ga = release_action(
    "rollout_full_ga",
    phase="rollout",
    step="full_ga",
    mutating=True,
    deploys=True,
    after=("platform_up",),
    description="Enables the rollout flag for the remaining (full GA) tenants (flags CLI).",
)
