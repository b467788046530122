"""The staging canary's action: the feature flag on for the canary tenants.

Configured per target in ``release.toml`` (``[targets.<t>.actions.canary_flags_on]``): the
sandbox runs the workspace's flags CLI through ``python -m sandbox.flags`` (which injects the
environment's DSN), the real platform runs ``pnpm flags:enable`` in its checkout with
``DATABASE_URL=${ICUPA_DB_DSN}``. The flag and tenants are the target's ``canary_flag`` and
``canary_tenants`` variables, which must match ``[targets.<t>.checks.canary]``. Import this
module from ``checks/conftest.py`` so the fixture is visible to every gate suite.
"""

from __future__ import annotations

from plugin import release_action

__all__ = ["canary_flags_on"]

canary_flags_on = release_action(
    "canary_flags_on",
    phase="verify_staging",
    step="canary",
    mutating=True,
    deploys=True,
    after=("platform_up",),
    description="Enables the release's feature flag for the canary tenants (flags CLI, recorded as release-gate).",
)
