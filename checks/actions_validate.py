"""The validate phase's commands as release actions (runbook "Build & Test Pipeline").

Each is read-only towards the platform (``mutating=False``): it builds, lints and tests the
release's own workspace. Their argv per target are in ``release.toml`` under
``[targets.<t>.actions.<name>]``. ``checks/conftest.py`` imports this module with
``from checks.actions_validate import *`` so the fixtures are visible to every gate suite.
"""

from __future__ import annotations

from plugin import release_action

__all__ = [
    "agents_service_test",
    "ci_green",
    "pnpm_e2e",
    "pnpm_install",
    "pnpm_lint",
    "pnpm_test",
    "pnpm_typecheck",
    "security_lint_mcp",
    "web_build",
]

pnpm_install = release_action(
    "pnpm_install",
    phase="validate",
    step="install",
    mutating=False,
    description="pnpm install (the lockfile as is: --frozen-lockfile).",
)
pnpm_lint = release_action(
    "pnpm_lint",
    phase="validate",
    step="pipeline",
    mutating=False,
    description="pnpm lint with ESLint's JSON report kept for the gate (artifacts.eslint_report).",
)
pnpm_typecheck = release_action(
    "pnpm_typecheck", phase="validate", step="pipeline", mutating=False, description="pnpm typecheck (tsc --noEmit)."
)
pnpm_test = release_action(
    "pnpm_test",
    phase="validate",
    step="pipeline",
    mutating=False,
    description="pnpm test: vitest with coverage in every package.",
)
web_build = release_action(
    "web_build",
    phase="validate",
    step="pipeline",
    mutating=False,
    description="pnpm --filter web build, with the staging environment's variables.",
)
# After pnpm_test: both run the agents service's vitest, which rewrites the same coverage
# folder, so they must never overlap (two xdist workers could otherwise start both).
agents_service_test = release_action(
    "agents_service_test",
    phase="validate",
    step="pipeline",
    mutating=False,
    after=("pnpm_test",),
    description="pnpm --filter agents-service test.",
)
pnpm_e2e = release_action(
    "pnpm_e2e",
    phase="validate",
    step="pipeline",
    mutating=False,
    description="Optional: pnpm test:e2e, the full Playwright run.",
)
security_lint_mcp = release_action(
    "security_lint_mcp",
    phase="validate",
    step="pipeline",
    mutating=False,
    description="pnpm security:lint-mcp, the security lint of the agents' tool code.",
)
ci_green = release_action(
    "ci_green",
    phase="validate",
    step="confirm",
    mutating=False,
    description="Release day: pnpm turbo run lint typecheck test build.",
)
