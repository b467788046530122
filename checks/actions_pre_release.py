"""The pre-release phase's actions: the release repository, the SBOMs, the announcement.

Declared here, configured per target in ``release.toml`` (``[targets.<t>.actions.<name>]``),
run by the engine as session fixtures (once per run, recorded in the ledger). Import this
module from ``checks/conftest.py`` so the fixtures are visible to every gate suite.

SBOM generator: ``pnpm sbom`` (``--recursive``, CycloneDX 1.6 and SPDX 2.3), from the pnpm the
workspace already pins (``packageManager: pnpm@12.4.2``; pnpm has had ``sbom`` since 11.0).
It reads the lockfile and the local store, so it works offline, needs no new package pin, and
covers every workspace package. ``@cyclonedx/cyclonedx-npm`` shells out to ``npm ls`` and
fails on pnpm workspaces; cdxgen would be a large extra npm dependency and writes CycloneDX
only. The real platform needs a pnpm >= 11 in its checkout for the same commands.
"""

from __future__ import annotations

from plugin import release_action

release_repo = release_action(
    "release_repo",
    phase=None,
    mutating=False,
    description=(
        "Makes the release's git history readable: the sandbox builds its release repository (tagged "
        "release commit); the real platform fetches the tags of its checkout. The checks only read it."
    ),
)
sbom_generate = release_action(
    "sbom_generate",
    phase="pre_release",
    step="review",
    mutating=False,
    description="Generates the CycloneDX and SPDX SBOMs of the release (pnpm sbom) under artifacts/sbom/.",
)
notify_stakeholders = release_action(
    "notify_stakeholders",
    phase="pre_release",
    step="notify",
    deploys=False,
    description="Posts the release window and rollout plan to the stakeholders' Slack channel (incoming webhook).",
)
