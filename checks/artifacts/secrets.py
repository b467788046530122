"""Secret scans: a gitleaks JSON report, and a detect-secrets scan of a folder.

Findings carry where (file, line), what (the rule or detector) and nothing else: never the
secret, its match, nor detect-secrets' SHA-1 of it (a hash of a short secret is as good as
the secret). A gitleaks report that kept a secret unredacted is itself a finding, counted
but never shown.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from checks.artifacts import ArtifactError, load_json, validated

__all__ = ["GitleaksReport", "SecretFinding", "SecretScan", "load_gitleaks", "scan_detect_secrets"]

_REDACTED = "REDACTED"
_SCAN_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class SecretFinding:
    file: str
    line: int | None
    rule: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line if self.line is not None else '?'}: {self.rule}"


# --- gitleaks -----------------------------------------------------------------------------


class _GitleaksFinding(BaseModel):
    # gitleaks report/finding.go; Go field names. Secret and Match are read only to tell
    # whether the report was redacted.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    RuleID: Annotated[StrictStr, Field(min_length=1)]
    File: StrictStr
    StartLine: StrictInt
    Secret: StrictStr = ""
    Commit: StrictStr = ""


class _GitleaksReport(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    findings: list[_GitleaksFinding]


@dataclass(frozen=True, slots=True)
class GitleaksReport:
    path: Path
    findings: tuple[SecretFinding, ...]
    unredacted: int  # findings whose Secret the report kept in clear (run gitleaks with --redact)


def load_gitleaks(path: Path) -> GitleaksReport:
    """A gitleaks ``--report-format json`` report: a JSON array of findings, ``[]`` when clean."""
    raw = load_json(path)
    if not isinstance(raw, list):
        raise ArtifactError(
            path, f"expected a JSON array of findings (gitleaks JSON report), got a {type(raw).__name__}"
        )
    report = validated(_GitleaksReport, {"findings": raw}, path, show_values=False)
    findings = tuple(
        SecretFinding(item.File + (f"@{item.Commit[:12]}" if item.Commit else ""), item.StartLine, item.RuleID)
        for item in report.findings
    )
    unredacted = sum(1 for item in report.findings if item.Secret and not _is_redacted(item.Secret))
    return GitleaksReport(path, findings, unredacted)


def _is_redacted(secret: str) -> bool:
    # --redact (100%) writes REDACTED; --redact=N keeps a prefix and ends it with "...".
    return secret == _REDACTED or secret.endswith("...")


# --- detect-secrets -----------------------------------------------------------------------


class _DetectedSecret(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    type: StrictStr
    filename: StrictStr
    hashed_secret: StrictStr
    line_number: StrictInt | None = None
    is_secret: StrictBool | None = None


class _DetectSecretsOutput(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    results: dict[str, list[_DetectedSecret]]


@dataclass(frozen=True, slots=True)
class SecretScan:
    root: Path
    findings: tuple[SecretFinding, ...]  # not accepted by the baseline
    accepted: int  # found, and audited as not secret in the baseline


def _exclusion(root: Path, exclude_dirs: Sequence[str], baseline: Path | None) -> str:
    dirs = "|".join(re.escape(name) for name in exclude_dirs)
    patterns = [f"(^|/)({dirs})(/|$)"] if dirs else []
    if baseline is not None and baseline.is_relative_to(root):
        patterns.append(f"^{re.escape(baseline.relative_to(root).as_posix())}$")
    return "|".join(patterns)


def _accepted_by(baseline: Path | None) -> set[tuple[str, str, str]]:
    """(file, type, hash) of every baseline entry audited as not a secret."""
    if baseline is None:
        return set()
    known = validated(_DetectSecretsOutput, load_json(baseline), baseline, show_values=False)
    return {
        (item.filename, item.type, item.hashed_secret)
        for items in known.results.values()
        for item in items
        if item.is_secret is False
    }


def scan_detect_secrets(
    root: Path,
    *,
    exclude_dirs: Sequence[str] = (),
    baseline: Path | None = None,
    timeout_s: float = _SCAN_TIMEOUT_S,
) -> SecretScan:
    """Scan every file under ``root`` (not only git-tracked ones) with detect-secrets' default plugins.

    Directories named in ``exclude_dirs`` are skipped wherever they are. A finding is
    accepted only when ``baseline`` (a ``.secrets.baseline``) has the same file, detector and
    secret marked ``"is_secret": false`` (``detect-secrets audit``); an unaudited baseline
    entry is still a finding. Raises :class:`ArtifactError` when the scan cannot run.
    """
    if not root.is_dir():
        raise ArtifactError(root, "no such folder to scan for secrets")
    accepted = _accepted_by(baseline)
    argv = [sys.executable, "-m", "detect_secrets", "scan", "--all-files"]
    exclusion = _exclusion(root, exclude_dirs, baseline)
    if exclusion:
        argv += ["--exclude-files", exclusion]
    try:
        done = subprocess.run([*argv, "."], cwd=root, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise ArtifactError(root, f"detect-secrets did not finish within {timeout_s:g}s") from None
    if done.returncode != 0:
        # detect-secrets' own errors name files and options, never a secret value.
        raise ArtifactError(root, f"detect-secrets scan exited {done.returncode}: {done.stderr.strip()[-500:]}")
    output = _parse_scan(root, done.stdout)
    findings: list[SecretFinding] = []
    kept = 0
    for items in output.results.values():
        for item in items:
            if (item.filename, item.type, item.hashed_secret) in accepted:
                kept += 1
            else:
                findings.append(SecretFinding(item.filename, item.line_number, item.type))
    findings.sort(key=lambda finding: (finding.file, finding.line or 0, finding.rule))
    return SecretScan(root, tuple(findings), kept)


def _parse_scan(root: Path, stdout: str) -> _DetectSecretsOutput:
    where = root / "(detect-secrets scan output)"
    try:
        raw = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ArtifactError(where, f"not valid JSON: {exc.msg}") from None
    return validated(_DetectSecretsOutput, raw, where, show_values=False)
