"""The runbook's deployment actions and the fixtures every gate suite shares."""

from __future__ import annotations

import pytest

from checks.actions_canary import canary_flags_on  # noqa: F401
from checks.actions_pre_release import notify_stakeholders, release_repo, sbom_generate  # noqa: F401
from checks.actions_production import *  # noqa: F403 - the production promotion's actions
from checks.actions_rollback import *  # noqa: F403 - the rollback phase's actions
from checks.actions_rollout import *  # noqa: F403 - the phased rollout's actions
from checks.actions_validate import *  # noqa: F403 - the validate phase's actions
from checks.artifacts import settings as artifact_settings
from checks.platform import Platform, PlatformError, load_platform
from checks.remote import settings as remote_settings
from checks.remote.fixtures import check_settings, github, remotes  # noqa: F401
from checks.rollback_settings import RollbackSettings, rollback_settings
from checks.rollout import RolloutSettings, RolloutSettingsError, rollout_settings
from plugin import ActionResult, release_action
from plugin.runtime import get_runtime
from plugin.settings import Settings


# trylast: the release gate's own pytest_configure resolves the settings read here.
@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The suites' own settings in release.toml are checked before anything runs."""
    settings = get_runtime(config).settings
    if settings.target is None:
        return
    try:
        artifact_settings.from_target(settings)
        remote_settings.from_target(settings)
    except (artifact_settings.ArtifactSettingsError, remote_settings.SettingsError) as exc:
        raise pytest.UsageError(str(exc)) from None


platform_up = release_action(
    "platform_up",
    phase=None,
    mutating=False,
    description="Brings the sandbox environment up on demand (idempotent); checks the real platform answers.",
)
db_push = release_action(
    "db_push",
    phase="deploy_staging",
    step="migrations",
    after=("platform_up",),
    description="A: supabase db push, the pgTAP suite (supabase db test), the tenant profile backfill.",
)
functions_deploy = release_action(
    "functions_deploy",
    phase="deploy_staging",
    step="functions",
    after=("platform_up",),
    description="B: deploy the edge functions on the release version.",
)
agents_deploy = release_action(
    "agents_deploy",
    phase="deploy_staging",
    step="agents",
    after=("platform_up",),
    description="C: build, package (image digest), push and switch the agents service.",
)
web_deploy = release_action(
    "web_deploy",
    phase="deploy_staging",
    step="web",
    after=("platform_up",),
    description="D: build the PWA with the staging variables and deploy it.",
)


@pytest.fixture(scope="session")
def rollout_config(release_settings: Settings) -> RolloutSettings:
    """``[targets.<t>.checks.rollout]``, validated: the stages, their tenants, flag and ticket."""
    try:
        return rollout_settings(release_settings)
    except RolloutSettingsError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def rollout_log(release_settings: Settings) -> RollbackSettings:
    """The rollback log and the incident records' folder (``[targets.<t>.checks.rollback]``)."""
    return rollback_settings(release_settings)


@pytest.fixture(scope="session")
def platform(platform_up: ActionResult, release_settings: Settings) -> Platform:
    """The target environment's endpoints and database, once it is up."""
    try:
        return load_platform(release_settings)
    except PlatformError as exc:
        pytest.fail(str(exc), pytrace=False)
