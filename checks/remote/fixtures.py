"""Session fixtures shared by every gate suite that talks to GitHub or Slack.

``checks/conftest.py`` imports :func:`check_settings`, :func:`remotes` and :func:`github`,
so a test in any ``checks`` module can request them:

- ``check_settings``: the target's ``[targets.<t>.checks.github|slack|release]`` tables,
  validated (:mod:`checks.remote.settings`);
- ``remotes``: for the sandbox, the recorded GitHub and Slack fakes served on loopback
  (free ports), with the token and webhook variables pointed at them; stopped at the end;
- ``github``: a :class:`~checks.remote.github.GitHubClient` for the target's repository,
  with the configured timeout, page size and page bound.

A problem with any of them fails the requesting test with the message alone (no traceback).
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import pytest

from checks.remote.fakes import FakeDataError, FakeGitHub, FakeSlack
from checks.remote.github import GitHubClient, GitHubError
from checks.remote.settings import CheckSettings, SettingsError, from_target
from plugin.settings import Settings


def fail(message: str) -> NoReturn:
    """Fail with ``message`` alone: no traceback, and not the exception being handled either."""
    __tracebackhide__ = True
    raise pytest.fail.Exception(message, pytrace=False) from None


@dataclass
class Remotes:
    """Where the clients go: the real APIs, or the loopback fakes of the recorded answers."""

    github_url: str | None
    github_fake: FakeGitHub | None
    slack_fake: FakeSlack | None


def sandbox_token() -> str:
    """A random token for the loopback fake, shaped like a GitHub App installation token.

    The shape lets the engine's masker recognise it too.
    """
    return "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


@pytest.fixture(scope="session")
def check_settings(release_settings: Settings) -> CheckSettings:
    """The target's remote check settings, validated."""
    try:
        return from_target(release_settings)
    except SettingsError as exc:
        fail(str(exc))


@pytest.fixture(scope="session")
def remotes(check_settings: CheckSettings) -> Iterator[Remotes]:
    """Start the recorded fakes the target asks for (free loopback ports); stop them at the end."""
    started: list[FakeGitHub | FakeSlack] = []
    patch = pytest.MonkeyPatch()
    try:
        remote = Remotes(None, None, None)
        github = check_settings.github
        if github is not None:
            try:
                api_url, repository = check_settings.github_target()
                if github.recorded is not None:
                    token = os.environ.get(github.token_env) or sandbox_token()
                    patch.setenv(github.token_env, token)
                    release = check_settings.release
                    repo = check_settings.path("release.repo", release.repo) if release else None
                    folder = check_settings.path("github.recorded", github.recorded)
                    remote.github_fake = FakeGitHub(folder, repository, token=token, git_repo=repo)
                    started.append(remote.github_fake)
                    api_url = remote.github_fake.start()
                remote.github_url = api_url
            except (SettingsError, FakeDataError) as exc:
                fail(str(exc))
        slack = check_settings.slack
        if slack is not None and slack.fake:
            remote.slack_fake = FakeSlack()
            started.append(remote.slack_fake)
            remote.slack_fake.start()
            patch.setenv(slack.webhook_env, remote.slack_fake.url)
        yield remote
    finally:
        for server in started:
            server.stop()
        patch.undo()


@pytest.fixture(scope="session")
def github(remotes: Remotes, check_settings: CheckSettings) -> Iterator[GitHubClient]:
    """The GitHub client of the target's repository (the fake's, for the sandbox)."""
    try:
        settings = check_settings.require_github()
    except SettingsError as exc:
        fail(str(exc))
    if remotes.github_url is None:
        fail(f"{check_settings.source}: no GitHub API for target {check_settings.target!r}")
    try:
        _, repository = check_settings.github_target()
        client = GitHubClient.from_env(
            remotes.github_url,
            repository,
            settings.token_env,
            timeout_s=settings.timeout_s,
            per_page=settings.per_page,
            max_pages=settings.max_pages,
        )
    except (SettingsError, GitHubError) as exc:
        fail(str(exc))
    with client:
        yield client
