"""Verify staging: the deployment as seen from the host, with pytest-testinfra (host-level smoke).

The hosts come from ``--hosts`` or, by default, from ``[targets.<t>.checks.infra] hosts`` in
``release.toml`` (``local://`` for the sandbox; ``kubectl://<pod>?namespace=...`` or
``ssh://user@host`` for the real platform); testinfra's module-scoped ``host`` fixture is
parametrized with them. The list is read from the configuration only, and sorted by testinfra,
so every xdist worker collects the same tests.

What is expected on the host:

- the sandbox: the facts come from the sandbox itself (``Sandbox.for_env(env).status()`` for
  the pids, its configured ports, its state for the active agents artifact and web release);
- another target: ``[targets.<t>.checks.infra]`` names them: ``processes`` (part -> a fragment
  of the command line), ``sockets`` (part -> ``tcp://ADDRESS:PORT``), ``agents_artifact`` and
  ``agents_digest`` (the artifact on the host and its ``sha256:`` digest), ``agents_version_file``
  and ``web_version_file`` (JSON files whose ``version`` is the release's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from checks.platform import Platform
from plugin.runtime import get_runtime
from plugin.settings import Settings
from plugin.templating import render

SMOKE: Final = "verify_staging.checks.smoke_tests"
SANDBOX_PARTS: Final = ("agents", "functions", "postgres", "prometheus")
# Sandbox part -> the fragment its command line must hold (sandbox/README.md, "Commands").
SANDBOX_COMMANDS: Final = {
    "agents-proxy": "sandbox.proxy",
    "agents-slot-a": "dist/server.js",
    "agents-slot-b": "dist/server.js",
    "functions": "functions/serve.ts",
    "postgres": "postgres -D",
    "prometheus": "prometheus --config.file",
}


class InfraSettingsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    hosts: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    processes: dict[str, str] = Field(default_factory=dict)
    sockets: dict[str, str] = Field(default_factory=dict)
    agents_artifact: str | None = None
    agents_digest: str | None = None
    agents_version_file: str | None = None
    web_version_file: str | None = None


def _infra_table(settings: Settings) -> tuple[InfraSettingsModel | None, str]:
    where = f"{settings.config_path or 'release.toml'}: targets.{settings.target_name}.checks.infra"
    raw = settings.target.checks.get("infra") if settings.target else None
    if raw is None:
        return None, f"{where}: missing (it needs at least hosts = [...])"
    try:
        return InfraSettingsModel.model_validate(raw), where
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return None, f"{where}: {problems}"


def _variables(settings: Settings) -> dict[str, str]:
    variables = {"root": str(settings.rootdir), "target": settings.target_name, "env": settings.env or ""}
    if settings.target is not None:
        variables.update(settings.target.vars)
        if settings.env and settings.env in settings.target.environments:
            variables.update(settings.target.environments[settings.env].vars)
    return variables


def _fill(settings: Settings, value: str) -> str:
    """A template filled; an unset ``${VAR}`` shows as ``<unset:VAR>`` (reported by the tests)."""
    import os  # noqa: PLC0415 - read here so collection sees the same environment the run does

    return render(value, _variables(settings), os.environ, strict=False)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give testinfra's own parametrization the configured hosts (``--hosts`` still wins).

    Runs before testinfra's hook (a module's hook is called ahead of the plugins'), which
    then reads ``testinfra_hosts``. Collection never fails on a bad table: the hosts fall
    back to the table's problem, reported by every test of the module.
    """
    if "_testinfra_host" not in metafunc.fixturenames or metafunc.config.option.hosts is not None:
        return
    settings = get_runtime(metafunc.config).settings
    model, _ = _infra_table(settings)
    hosts = ["local://"] if model is None else sorted(_fill(settings, h) for h in model.hosts)
    metafunc.module.testinfra_hosts = hosts


@dataclass(frozen=True)
class ProcessExpectation:
    part: str
    command: str
    pid: int | None = None


@dataclass
class Expectations:
    """What the host must show, and the problems found while working it out."""

    processes: list[ProcessExpectation] = field(default_factory=list)
    sockets: dict[str, str] = field(default_factory=dict)
    agents_artifact: str | None = None
    agents_digest: str | None = None
    agents_version_files: list[str] = field(default_factory=list)
    web_version_file: str | None = None
    web_current: str | None = None
    web_release_dir: str | None = None
    problems: list[str] = field(default_factory=list)


def _sandbox_expectations(env: str) -> Expectations:
    from sandbox import Sandbox  # noqa: PLC0415 - the embedded target, only when it is the target
    from sandbox.state import load_state  # noqa: PLC0415

    box = Sandbox.for_env(env)  # type: ignore[arg-type]
    report = box.status()
    state = load_state(box.paths)
    ports = box.config.ports.named()
    expected = Expectations()
    by_name = {part.name: part for part in report.parts}
    wanted = ["postgres", "prometheus", "agents-proxy", "functions"]
    if state.agents_slot_port is not None:
        wanted.append(box.slot_name(state.agents_slot_port))
    else:
        expected.problems.append("the sandbox has no active agents slot: agents were never deployed")
    for name in wanted:
        part = by_name.get(name)
        if part is None or part.pid is None:
            expected.problems.append(f"sandbox part {name}: not running (status: {part.action if part else 'absent'})")
            continue
        expected.processes.append(ProcessExpectation(name, SANDBOX_COMMANDS[name], part.pid))
        port = ports.get("agents" if name == "agents-proxy" else name, part.port)
        expected.sockets[name] = f"tcp://127.0.0.1:{port}"
    if state.agents_active is not None:
        expected.agents_artifact = state.agents_active.artifact
        expected.agents_digest = state.agents_active.digest
        release_dir = box.paths.agents_releases / state.agents_active.digest.removeprefix("sha256:")
        expected.agents_version_files = [
            str(release_dir / "sandbox-artifact.json"),
            str(release_dir / "dist" / "build-info.json"),
        ]
    expected.web_current = str(box.paths.web_current)
    expected.web_version_file = str(box.paths.web_current / "version.json")
    if state.web_version is not None:
        expected.web_release_dir = str(box.paths.web_releases / state.web_version)
    return expected


def _configured_expectations(settings: Settings, model: InfraSettingsModel) -> Expectations:
    expected = Expectations()
    for part, command in sorted(model.processes.items()):
        expected.processes.append(ProcessExpectation(part, _fill(settings, command)))
    expected.sockets = {part: _fill(settings, spec) for part, spec in sorted(model.sockets.items())}
    expected.agents_artifact = _fill(settings, model.agents_artifact) if model.agents_artifact else None
    expected.agents_digest = _fill(settings, model.agents_digest) if model.agents_digest else None
    if model.agents_version_file:
        expected.agents_version_files = [_fill(settings, model.agents_version_file)]
    expected.web_version_file = _fill(settings, model.web_version_file) if model.web_version_file else None
    if not expected.processes:
        expected.problems.append(f"targets.{settings.target_name}.checks.infra.processes: none configured")
    return expected


@pytest.fixture(scope="module")
def expected(platform: Platform, release_settings: Settings, host: Any) -> Expectations:
    """What the host must show; fails at once on an unusable table or an unresolved host."""
    model, where = _infra_table(release_settings)
    if model is None:
        pytest.fail(where, pytrace=False)
    host_id = str(host.backend.get_pytest_id())
    if "<unset:" in host_id:
        pytest.fail(f"{where}.hosts: {host_id} names an unset environment variable", pytrace=False)
    if release_settings.target_name == "sandbox":
        return _sandbox_expectations(platform.env)
    return _configured_expectations(release_settings, model)


def _no_problems(expected: Expectations) -> None:
    assert not expected.problems, "cannot tell what to check:\n" + "\n".join(expected.problems)


def _json_version(host: Any, path: str) -> tuple[Any, str | None]:
    file = host.file(path)
    if not file.exists:
        return None, f"{path}: missing on the host"
    try:
        payload = json.loads(file.content_string)
    except ValueError as exc:
        return None, f"{path}: not JSON ({exc})"
    if not isinstance(payload, dict):
        return None, f"{path}: not a JSON object"
    return payload.get("version"), None


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(SMOKE)
def test_service_processes_are_running(host: Any, expected: Expectations) -> None:
    _no_problems(expected)
    problems = []
    for want in expected.processes:
        found = host.process.filter(pid=want.pid) if want.pid is not None else host.process.filter()
        matching = [p for p in found if want.command in str(p.args)]
        if not matching:
            where = f"pid {want.pid}" if want.pid is not None else "any process"
            seen = f" (runs {found[0].args!r})" if want.pid is not None and found else ""
            problems.append(f"{want.part}: {where} is not running {want.command!r}{seen}")
    assert not problems, "service processes:\n" + "\n".join(problems)


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(SMOKE)
def test_service_sockets_are_listening(host: Any, expected: Expectations) -> None:
    _no_problems(expected)
    assert expected.sockets, "no sockets to check"
    closed = [f"{part}: {spec}" for part, spec in expected.sockets.items() if not host.socket(spec).is_listening]
    assert not closed, "not listening:\n" + "\n".join(closed)


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(SMOKE)
def test_agents_artifact_matches_the_active_digest(
    host: Any, expected: Expectations, release_settings: Settings
) -> None:
    _no_problems(expected)
    missing = "no active agents artifact: none recorded (sandbox) or checks.infra.agents_artifact / agents_digest unset"
    assert expected.agents_artifact, missing
    assert expected.agents_digest, missing
    artifact = host.file(expected.agents_artifact)
    assert artifact.exists, f"{expected.agents_artifact}: missing on the host"
    digest = f"sha256:{artifact.sha256sum}"
    assert digest == expected.agents_digest, (
        f"{expected.agents_artifact}: content is {digest}, but the active digest is {expected.agents_digest}"
    )
    assert expected.agents_version_files, "no agents version file: checks.infra.agents_version_file is unset"
    for path in expected.agents_version_files:
        version, problem = _json_version(host, path)
        assert problem is None, problem
        assert version == release_settings.version, f"{path}: version {version!r}, release {release_settings.version}"


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(SMOKE)
def test_web_current_release_holds_the_release_version(
    host: Any, expected: Expectations, release_settings: Settings
) -> None:
    _no_problems(expected)
    assert expected.web_version_file, (
        "no web release on this host: checks.infra.web_version_file is unset (check the web release by hand)"
    )
    if expected.web_current is not None:
        current = host.file(expected.web_current)
        assert current.is_symlink, f"{expected.web_current}: not a symlink to the active release"
        assert expected.web_release_dir is not None, "the sandbox records no web release"
        assert Path(current.linked_to) == Path(expected.web_release_dir), (
            f"{expected.web_current} -> {current.linked_to}, but the recorded release is {expected.web_release_dir}"
        )
        assert Path(expected.web_release_dir).name == release_settings.version, (
            f"the active web release folder is {expected.web_release_dir}, not {release_settings.version}"
        )
    version, problem = _json_version(host, expected.web_version_file)
    assert problem is None, problem
    assert version == release_settings.version, (
        f"{expected.web_version_file}: version {version!r}, release {release_settings.version}"
    )
