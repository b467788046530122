"""The gate's options, their ini twins, and the frozen settings resolved from them.

Every option lives in one group with a long name and has an ini twin holding the
documented default; the command line wins over the ini file. Settings are resolved once,
in ``pytest_configure``, and kept in ``config.stash``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from plugin.markers import SELECTION_MARKERS
from plugin.masking import Masker

if TYPE_CHECKING:
    # The validating loaders (pydantic) are imported only when there is a file to load,
    # so a project without release.toml or checklist does not pay for them.
    from plugin.checklist import Checklist
    from plugin.config import ReleaseConfig, TargetConfig

ENVIRONMENTS: Final = ("staging", "production")
VERSION_PATTERN: Final = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
DEFAULT_TARGET: Final = "sandbox"
_GIT_TIMEOUT_S: Final = 10


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("release-gate", "release gate (phases, gating, actions, verdict)")
    group.addoption(
        "--release-plan",
        action="store_true",
        default=None,
        help="print the ordered plan (phases, steps, tests, the argv of every action) and run nothing",
    )
    group.addoption(
        "--release-dry-run",
        action="store_true",
        default=None,
        help="run read-only checks; report every mutating action as planned without executing it",
    )
    group.addoption(
        "--release-target",
        metavar="NAME",
        default=None,
        help="target in release.toml (default: its default_target, else sandbox)",
    )
    group.addoption(
        "--release-env",
        metavar="ENV",
        default=None,
        choices=ENVIRONMENTS,
        help="environment acted on: staging or production (-m staging implies staging; production must be named)",
    )
    group.addoption(
        "--release-version", metavar="vX.Y.Z", default=None, help="release under test (default: derived from the repo)"
    )
    parser.addini("release_plan", type="bool", default=False, help="default for --release-plan")
    parser.addini("release_dry_run", type="bool", default=False, help="default for --release-dry-run")
    parser.addini(
        "release_target", default="", help="default for --release-target (empty: release.toml's default_target)"
    )
    parser.addini("release_env", default="", help="default for --release-env (empty: from -m)")
    parser.addini("release_version", default="", help="default for --release-version (empty: derived)")
    parser.addini("release_config", default="", help="path of release.toml (empty: <rootdir>/release.toml if present)")
    parser.addini(
        "release_checklist",
        default="",
        help="path of the runbook checklist (empty: <rootdir>/checks/runbook.toml if present)",
    )
    parser.addini("release_state_dir", default=".release-gate", help="where run ledgers and gate state are kept")
    parser.addini(
        "release_suites", type="paths", default=[], help="folders whose every test must be a gate test (carry phase)"
    )


@dataclass(frozen=True, slots=True)
class Settings:
    plan: bool
    dry_run: bool
    target_name: str
    env: str | None
    version: str | None
    version_source: str
    selections: frozenset[str]
    rootdir: Path
    state_dir: Path
    suites: tuple[Path, ...]
    release: ReleaseConfig | None
    config_path: Path | None
    target: TargetConfig | None
    checklist: Checklist | None
    masker: Masker


def selections_from_markexpr(markexpr: str) -> frozenset[str]:
    """Selection markers a ``-m`` expression asks for: those it names without negating.

    Each name's polarity is followed through ``not`` and parentheses, so
    ``not (staging or production)`` selects neither, and ``staging and not rollback``
    selects staging. A malformed expression selects nothing here (pytest reports it).
    """
    tokens: list[str] = re.findall(r"[A-Za-z_][A-Za-z0-9_.-]*|[()]", markexpr)
    chosen: set[str] = set()
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def disjunction(positive: bool) -> None:
        conjunction(positive)
        while peek() == "or":
            take()
            conjunction(positive)

    def conjunction(positive: bool) -> None:
        negation(positive)
        while peek() == "and":
            take()
            negation(positive)

    def negation(positive: bool) -> None:
        word = peek()
        if word is None:
            return
        take()
        if word == "not":
            negation(not positive)
        elif word == "(":
            disjunction(positive)
            if peek() == ")":
                take()
        elif positive and word in SELECTION_MARKERS:
            chosen.add(word)

    while position < len(tokens):
        before = position
        disjunction(True)
        if position == before:
            take()  # a stray token such as ")": skip it
    return frozenset(chosen)


def _option_or_ini(config: pytest.Config, name: str) -> tuple[object, str]:
    value = config.getoption(name)
    if value is not None:
        return value, f"--{name.replace('_', '-')}"
    return config.getini(name), f"ini {name}"


def _resolve_path(rootdir: Path, configured: str, default: str) -> tuple[Path | None, bool]:
    if configured:
        return (rootdir / configured).resolve(), True
    candidate = rootdir / default
    return (candidate if candidate.exists() else None), False


def _git_version(rootdir: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "describe", "--tags", "--abbrev=0", "--match", "v*"],
            cwd=rootdir,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    tag = done.stdout.strip()
    return tag if done.returncode == 0 and tag else None


def _resolve_version(config: pytest.Config, rootdir: Path, target: TargetConfig | None) -> tuple[str | None, str]:
    value, source = _option_or_ini(config, "release_version")
    version = str(value or "")
    if not version and target is not None and target.version_file:
        path = rootdir / target.version_file
        try:
            version = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise pytest.UsageError(f"cannot read the release version from {path}: {exc.strerror}") from None
        source = str(path)
    if not version:
        version = _git_version(rootdir) or ""
        source = "git describe"
    if not version:
        return None, "unknown"
    if not VERSION_PATTERN.match(version):
        raise pytest.UsageError(f"bad release version {version!r} (from {source}): expected vX.Y.Z, e.g. v1.4.0")
    return version, source


def _resolve_env(config: pytest.Config, selections: frozenset[str]) -> str | None:
    value, source = _option_or_ini(config, "release_env")
    env = str(value or "") or None
    if env is not None and env not in ENVIRONMENTS:
        raise pytest.UsageError(f"bad release environment {env!r} (from {source}); valid: {', '.join(ENVIRONMENTS)}")
    if env is None:
        if "production" in selections:
            raise pytest.UsageError(
                "-m production selects the production promotion, but production is never implied: "
                "name it with --release-env production"
            )
        if "staging" in selections:
            env = "staging"
    if env == "production" and "staging" in selections:
        raise pytest.UsageError(
            "-m staging cannot act on production; drop --release-env production or select -m production"
        )
    return env


def resolve_settings(config: pytest.Config) -> Settings:
    """Resolve every option once. Raises :class:`pytest.UsageError` for bad input."""
    rootdir = Path(config.rootpath)
    selections = selections_from_markexpr(str(config.getoption("markexpr", "") or ""))
    plan_value, _ = _option_or_ini(config, "release_plan")
    dry_value, _ = _option_or_ini(config, "release_dry_run")
    target_value, target_source = _option_or_ini(config, "release_target")
    target_name = str(target_value or "")

    config_path, explicit = _resolve_path(rootdir, str(config.getini("release_config")), "release.toml")
    release: ReleaseConfig | None = None
    target: TargetConfig | None = None
    if config_path is not None:
        from plugin.config import ConfigError, load_release_config, target_or_error  # noqa: PLC0415 - see above

        if explicit and not config_path.exists():
            raise pytest.UsageError(f"release config {config_path} (ini release_config) does not exist")
        try:
            release = load_release_config(config_path)
            if not target_name:
                target_name, target_source = release.default_target, f"default_target in {config_path.name}"
            target = target_or_error(release, target_name, target_source, config_path)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
    elif target_name and target_name != DEFAULT_TARGET:
        raise pytest.UsageError(f"release target {target_name!r} (from {target_source}): no release.toml in {rootdir}")
    target_name = target_name or DEFAULT_TARGET

    checklist_path, explicit = _resolve_path(rootdir, str(config.getini("release_checklist")), "checks/runbook.toml")
    checklist: Checklist | None = None
    if checklist_path is not None:
        from plugin.checklist import ChecklistError, load_checklist  # noqa: PLC0415 - see above

        if explicit and not checklist_path.exists():
            raise pytest.UsageError(f"checklist {checklist_path} (ini release_checklist) does not exist")
        try:
            checklist = load_checklist(checklist_path)
        except ChecklistError as exc:
            raise pytest.UsageError(str(exc)) from None

    version, version_source = _resolve_version(config, rootdir, target)
    env = _resolve_env(config, selections)
    state_dir = rootdir / str(config.getini("release_state_dir"))
    suites = tuple(Path(p).resolve() for p in config.getini("release_suites"))
    masker = Masker.from_environment(target.secrets if target else ())
    return Settings(
        plan=bool(plan_value),
        dry_run=bool(dry_value),
        target_name=target_name,
        env=env,
        version=version,
        version_source=version_source,
        selections=selections,
        rootdir=rootdir,
        state_dir=state_dir,
        suites=suites,
        release=release,
        config_path=config_path,
        target=target,
        checklist=checklist,
        masker=masker,
    )
