"""Post-release duties (runbook "Post-Release" and "On-Call & Communication").

Settings: ``[targets.<t>.checks.post_release]`` (validated strictly, unknown keys are errors)::

    oncall = "jean.mugabo"                    # who owns the window (or oncall_env = "VAR")
    dashboards = ["ICUPA/rollout"]
    archive_dir = "artifacts/archive/{version}"   # one archive folder per release
    lighthouse_dir = "artifacts/lighthouse"   # its index.json files name the release's reports
    coverage_dir = "artifacts/coverage"       # the validate phase's kept coverage reports
    changelog = "sandbox/workspace/CHANGELOG.md"  # must have a section for the version
    outcomes = "artifacts/releases/{version}/outcomes.md"  # written by the gate, then checked
    docs = []                                 # further documents that must name the version
    retro_dir = "artifacts/retro"
    retro_within_days = 5
    [targets.<t>.checks.post_release.analysis]  # canary keys replaced for the alert watch
    [targets.<t>.checks.post_release.comms]
    fake = true                               # loopback Slack fakes (the sandbox)
    release_channel = "#release"
    release_webhook_env = "SLACK_WEBHOOK_URL"
    status_channel = "#status"
    status_webhook_env = "SLACK_STATUS_WEBHOOK_URL"

The alert watch runs the canary analysis for every rollout tenant over the target's
``thresholds.alert_window_s``. Paths are relative to the rootdir; ``{version}`` is the release.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from checks.artifacts import ArtifactError
from checks.artifacts.archive import SUMS_FILE, checksum
from checks.rollout import RolloutSettingsError, check_analysis_overrides, format_errors
from plugin.settings import Settings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_Env = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
_Path = Annotated[str, Field(min_length=1)]


class _Comms(_Strict):
    fake: bool = False
    release_channel: Annotated[str, Field(pattern=r"^#[a-z0-9_-]+$")] = "#release"
    release_webhook_env: _Env
    status_channel: Annotated[str, Field(pattern=r"^#[a-z0-9_-]+$")] = "#status"
    status_webhook_env: _Env
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0


class _PostRelease(_Strict):
    oncall: Annotated[str, Field(min_length=1)] | None = None
    oncall_env: _Env | None = None
    dashboards: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=lambda: ["ICUPA/rollout"])
    archive_dir: _Path = "artifacts/archive/{version}"
    lighthouse_dir: _Path = "artifacts/lighthouse"
    coverage_dir: _Path = "artifacts/coverage"
    changelog: _Path
    outcomes: _Path = "artifacts/releases/{version}/outcomes.md"
    docs: list[_Path] = Field(default_factory=list)
    retro_dir: _Path = "artifacts/retro"
    retro_within_days: Annotated[int, Field(ge=1, le=60)] = 5
    analysis: dict[str, Any] = Field(default_factory=dict)
    comms: _Comms


@dataclass(frozen=True)
class Channel:
    name: str
    webhook_env: str


@dataclass(frozen=True)
class PostReleaseSettings:
    oncall: str
    dashboards: tuple[str, ...]
    archive_dir: Path
    lighthouse_dir: Path
    coverage_dir: Path
    changelog: Path
    outcomes: Path
    docs: tuple[Path, ...]
    retro_dir: Path
    retro_within_days: int
    analysis: dict[str, Any]
    fake_slack: bool
    release_channel: Channel
    status_channel: Channel
    slack_timeout_s: float


def post_release_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> PostReleaseSettings:
    """The post-release settings of the current target; RolloutSettingsError names what is wrong."""
    environ = os.environ if environ is None else environ
    target = settings.target
    where = f"targets.{settings.target_name}.checks.post_release"
    if target is None or "post_release" not in target.checks:
        raise RolloutSettingsError(f"release.toml has no [{where}] table")
    try:
        model = _PostRelease.model_validate(target.checks["post_release"])
    except ValidationError as exc:
        raise RolloutSettingsError(format_errors(exc, where)) from None
    if (model.oncall is None) == (model.oncall_env is None):
        raise RolloutSettingsError(f"{where}: set exactly one of oncall and oncall_env (who owns the window)")
    oncall = model.oncall
    if model.oncall_env is not None:
        oncall = environ.get(model.oncall_env, "").strip()
        if not oncall:
            raise RolloutSettingsError(f"{where}.oncall_env: the environment variable {model.oncall_env} is not set")
    assert oncall is not None
    version = settings.version or "unknown-version"

    def path(value: str) -> Path:
        return settings.rootdir / value.replace("{version}", version)

    comms = model.comms
    return PostReleaseSettings(
        oncall=oncall,
        dashboards=tuple(model.dashboards),
        archive_dir=path(model.archive_dir),
        lighthouse_dir=path(model.lighthouse_dir),
        coverage_dir=path(model.coverage_dir),
        changelog=path(model.changelog),
        outcomes=path(model.outcomes),
        docs=tuple(path(doc) for doc in model.docs),
        retro_dir=path(model.retro_dir),
        retro_within_days=model.retro_within_days,
        analysis=check_analysis_overrides(model.analysis, f"{where}.analysis"),
        fake_slack=comms.fake,
        release_channel=Channel(comms.release_channel, comms.release_webhook_env),
        status_channel=Channel(comms.status_channel, comms.status_webhook_env),
        slack_timeout_s=comms.timeout_s,
    )


# --- archives -------------------------------------------------------------------------------


def files_to_archive(folder: Path) -> list[tuple[Path, str]]:
    """Every file under ``folder`` (hidden names, lock files and the folder's own ``SHA256SUMS``
    left out: the archive writes its own), as ``(path, name)``.

    A missing folder or an empty one is an :class:`ArtifactError`."""
    if not folder.is_dir():
        raise ArtifactError(folder, "no such folder: the step that writes these artifacts did not run here")
    found = sorted(
        (path, path.relative_to(folder).as_posix())
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and not path.name.endswith(".lock")
        and path.relative_to(folder).as_posix() != SUMS_FILE
    )
    if not found:
        raise ArtifactError(folder, "empty folder: nothing to archive")
    return found


def _indexed_files(index: Path, root: Path, version: str) -> list[tuple[Path, str]] | None:
    """The files ``index`` lists, named relative to ``root``; None when it is another release's.

    A listed file that is missing, outside the index's folder, or differs from its checksum is
    an :class:`ArtifactError`, as is an index that cannot be read."""
    try:
        document = json.loads(index.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(index, "no such file: the Lighthouse check did not index its runs") from None
    except OSError as exc:
        raise ArtifactError(index, f"cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(index, f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ArtifactError(index, "not a JSON object")
    if document.get("version") != version:
        return None
    entries = document.get("files")
    if not isinstance(entries, list) or not entries:
        raise ArtifactError(index, "lists no files (a 'files' list of path and sha256)")
    folder = index.parent.resolve()
    found = [(index, index.resolve().relative_to(root).as_posix())]
    for number, entry in enumerate(entries):
        fields = entry if isinstance(entry, dict) else {}
        if not isinstance(fields.get("path"), str) or not isinstance(fields.get("sha256"), str):
            raise ArtifactError(index, f"files[{number}] is not an object with a path and a sha256")
        path = (folder / fields["path"]).resolve()
        if not path.is_relative_to(folder):
            raise ArtifactError(index, f"files[{number}]: {fields['path']} is outside {index.parent}")
        if not path.is_file():
            raise ArtifactError(path, f"listed in {index}, but missing")
        digest, _ = checksum(path)
        if digest != fields["sha256"]:
            raise ArtifactError(path, f"changed since it was indexed (SHA-256 differs from {index})")
        found.append((path, path.relative_to(root).as_posix()))
    return found


def lighthouse_files(folder: Path, version: str) -> list[tuple[Path, str]]:
    """The release's Lighthouse reports and their indexes, as ``(path, name)``.

    ``index.json`` in ``folder`` (the release-day measurement of the candidate) must be this
    release's; an ``index.json`` one folder down (the production synthetic run's) is taken
    when it is this release's too. The folder may also hold reports of other runs (other
    URLs, ports or releases), which do not belong to this release's archive
    (``lighthouse/index.py`` writes the indexes)."""
    root = folder.resolve()
    main = folder / "index.json"
    found = _indexed_files(main, root, version)
    if found is None:
        raise ArtifactError(main, f"indexes another release's runs, not {version}'s")
    for index in sorted(folder.glob("*/index.json")):
        found += _indexed_files(index, root, version) or []
    return found


def verify_sums(folder: Path) -> list[str]:
    """Re-hash every file ``SHA256SUMS`` lists in ``folder``; the problems found (none: all match)."""
    sums = folder / SUMS_FILE
    try:
        lines = sums.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        return [f"{sums}: cannot read: {exc.strerror or exc}"]
    if not lines:
        return [f"{sums}: empty"]
    problems = []
    for number, line in enumerate(lines, start=1):
        digest, sep, name = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            problems.append(f"{sums}:{number}: not a sha256sum line")
            continue
        try:
            actual, _ = checksum(folder / name)
        except ArtifactError as exc:
            problems.append(str(exc))
            continue
        if actual != digest:
            problems.append(f"{folder / name}: SHA-256 {actual} does not match {SUMS_FILE} ({digest})")
    return problems


# --- docs -----------------------------------------------------------------------------------


def changelog_entries(text: str, version: str) -> list[str]:
    """The bullet lines of the changelog's section for ``version`` (``## [0.1.0]`` or ``## [v0.1.0]``)."""
    bare = version.removeprefix("v")
    heading = re.compile(rf"^## \[v?{re.escape(bare)}\]", re.MULTILINE)
    match = heading.search(text)
    if match is None:
        return []
    rest = text[match.end() :].partition("\n")[2]  # after the heading line ("## [0.1.0] - 2026-11-20")
    end = re.search(r"^## ", rest, re.MULTILINE)
    section = rest[: end.start()] if end else rest
    return [line.strip() for line in section.splitlines() if line.strip().startswith(("- ", "* "))]


# --- incidents --------------------------------------------------------------------------------


def release_incidents(folder: Path, version: str) -> list[dict[str, Any]]:
    """The incident records (``<incidents_dir>/*.json``, written by the rollback's record step)
    of ``version``. An unreadable record is an :class:`ArtifactError`: never silently no incident."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ArtifactError(path, f"unreadable incident record: {exc}") from None
        if not isinstance(record, dict) or not isinstance(record.get("title"), str):
            raise ArtifactError(path, "not an incident record (no title)")
        if re.search(rf"\b{re.escape(version)}\b", record["title"]):
            found.append({**record, "path": str(path)})
    return found


def incidents_entry(when: str, version: str, where: str, incidents: list[dict[str, Any]], run: str) -> str:
    lines = [f"## {when} incidents of {version} on {where}", ""]
    if not incidents:
        lines.append(f"- what: no incident recorded for {version}")
    for incident in incidents:
        lines.append(
            f"- what: {incident.get('id')} {incident.get('status')}: {incident['title']} "
            f"(opened {incident.get('opened_at')}; {incident['path']})"
        )
    lines += [f"- when: {when}", f"- run: {run}"]
    return "\n".join(lines) + "\n"


def handoff_entry(
    *, when: str, version: str, where: str, oncall: str, facts: Mapping[str, str], open_items: list[str], run: str
) -> str:
    """The on-call handoff note (the rollback log's format family; also the release ticket's)."""
    lines = [f"## {when} handoff of {version} on {where}", "", f"- to: on-call {oncall} owns the release window"]
    lines += [f"- {key}: {value}" for key, value in facts.items()]
    lines.append(f"- open items: {'; '.join(open_items) or 'none'}")
    lines += [f"- when: {when}", f"- run: {run}"]
    return "\n".join(lines) + "\n"
