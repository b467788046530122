"""The validate gate tests themselves, run by pytest in a subprocess against bad artifacts.

Each run is the real ``checks/test_validate.py`` test under the real engine, pointed by a
throwaway ``release.toml`` (``-o release_config=``) at a bad report. The check must fail,
naming the file and the problem, with no Python traceback and no INTERNALERROR, and the
gate must end BLOCKED.

Where a gate test requests the action that writes its report (the coverage tests request
``pnpm_test``), the throwaway target's action copies the bad report into place: it stands
in for the test runner that wrote it. Everything else is real: detect-secrets, pnpm and
vite run for real.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.checks.test_artifacts_audit import AUDIT_CASES, _pnpm
from tests.checks.test_artifacts_coverage import COBERTURA_CASES, ISTANBUL_CASES, LCOV_CASES
from tests.checks.workspace_copy import REPO, copy_workspace, plant_secret

RUN_TIMEOUT_S = 600
STAGING_URLS = {"VITE_AGENTS_URL": "http://127.0.0.1:17103", "VITE_FUNCTIONS_URL": "http://127.0.0.1:17104/f"}


def _toml_value(value: object) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
    return json.dumps(value)  # strings, lists of strings, booleans and numbers read the same in TOML


@dataclass
class Gate:
    """A throwaway target for ``checks/test_validate.py``, and runs of it."""

    folder: Path
    artifacts: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workspace = self.folder / "workspace"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.artifacts = {
            "workspace": str(self.workspace),
            "archive_dir": str(self.folder / "artifacts"),
            "eslint_report": "{run_dir}/eslint.json",
            "audit_report": str(REPO / "sandbox" / "recorded" / "validate" / "pnpm-audit.json"),
            "audit_recorded": True,
            "detect_secrets_root": str(self.workspace),
            "sbom_files": [str(self.folder / "artifacts" / "sbom" / "icupa.cdx.json")],
            **self.artifacts,
        }
        self.coverage = {"format": "cobertura", "figure": "both", "packages": ["pkg"], **self.coverage}

    def config(self) -> Path:
        lines = [
            'default_target = "sandbox"',
            "[targets.sandbox]",
            'version_file = "sandbox/VERSION"',
            "[targets.sandbox.thresholds]",
            "coverage_min_percent = 80",
        ]
        for name, table in self.actions.items():
            lines.append(f"[targets.sandbox.actions.{name}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items())
        for name, table in (("artifacts", self.artifacts), ("coverage", self.coverage)):
            lines.append(f"[targets.sandbox.checks.{name}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in table.items())
        path = self.folder / "release.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def run(self, test: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        argv = [
            sys.executable,
            "-m",
            "pytest",
            f"checks/test_validate.py::{test}",
            "--release-env",
            "staging",
            "-p",
            "no:cacheprovider",
            "-o",
            f"release_config={self.config()}",
            "-o",
            f"release_state_dir={self.folder / 'state'}",
            f"--junitxml={self.folder / 'junit.xml'}",
        ]
        env = {key: value for key, value in (environ or os.environ).items() if not key.startswith("PYTEST_")}
        return subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
        )


def _failed_cleanly(done: subprocess.CompletedProcess[str], unit: str, *needles: str) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "INTERNALERROR" not in output, output
    assert "Traceback" not in output, output
    assert "\nE   " not in output, output  # pytest's assertion-rewriting view of a failing line
    assert f"RELEASE GATE: BLOCKED at validate/{unit}" in output, output
    for needle in needles:
        assert needle in output, output
    return output


def _copy_into_place(source: Path, target: Path) -> dict[str, Any]:
    """An action that writes ``source`` where the test runner would have written its report."""
    script = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"
    return {"argv": ["{python}", "-c", script, str(source), str(target)], "timeout_s": 60}


# --- coverage -----------------------------------------------------------------------------------

_COVERAGE_FILE = {"cobertura": "cobertura-coverage.xml", "lcov": "lcov.info", "istanbul": "coverage-summary.json"}
_COVERAGE_CASES = {
    ("cobertura", name): COBERTURA_CASES[name]
    for name in ("empty", "truncated", "entity_bomb", "external_entity", "wrong_type_hits", "missing_total")
} | {
    ("lcov", "truncated"): LCOV_CASES["truncated"],
    ("lcov", "wrong_type_hits"): LCOV_CASES["wrong_type_hits"],
    ("istanbul", "pct_unknown"): ISTANBUL_CASES["pct_unknown"],
    ("istanbul", "missing_branches"): ISTANBUL_CASES["missing_branches"],
}


@pytest.mark.parametrize(("fmt", "case"), list(_COVERAGE_CASES), ids=[f"{f}-{c}" for f, c in _COVERAGE_CASES])
def test_a_bad_coverage_report_fails_the_coverage_check(tmp_path: Path, fmt: str, case: str) -> None:
    content, needles = _COVERAGE_CASES[(fmt, case)]
    bad = tmp_path / "bad-report"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    gate = Gate(tmp_path / "gate", coverage={"format": fmt})
    report = gate.workspace / "pkg" / "coverage" / _COVERAGE_FILE[fmt]
    report.parent.mkdir(parents=True)
    gate.actions = {"pnpm_test": _copy_into_place(bad, report), "agents_service_test": _copy_into_place(bad, report)}
    done = gate.run("test_coverage_meets_the_threshold")
    _failed_cleanly(done, "pipeline", f"{report}: ", *needles)


def test_coverage_below_the_threshold_shows_both_figures_and_fails_on_the_configured_one(tmp_path: Path) -> None:
    summary = {
        "total": {"lines": {"total": 10, "covered": 9, "pct": 90}, "branches": {"total": 10, "covered": 5, "pct": 50}}
    }
    good = tmp_path / "summary.json"
    good.write_text(json.dumps(summary), encoding="utf-8")
    for figure, passes in (("lines", True), ("branches", False)):
        gate = Gate(tmp_path / figure, coverage={"format": "istanbul", "figure": figure})
        report = gate.workspace / "pkg" / "coverage" / "coverage-summary.json"
        report.parent.mkdir(parents=True)
        gate.actions = {
            "pnpm_test": _copy_into_place(good, report),
            "agents_service_test": _copy_into_place(good, report),
        }
        done = gate.run("test_coverage_meets_the_threshold")
        if passes:
            assert done.returncode == 0, done.stdout + done.stderr
            continue
        _failed_cleanly(
            done,
            "pipeline",
            "branches must reach 80%",
            "pkg    lines 90.00% (9/10), branches 50.00% (5/10)",
            "pkg: branches 50.00% (5/10) < 80%",
        )


# --- dependency audit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["truncated", "unknown_severity", "missing_severity", "registry_error", "npm_via_to_nowhere"]
)
def test_a_bad_audit_report_fails_the_audit_check(tmp_path: Path, case: str) -> None:
    content, needles = AUDIT_CASES[case]
    bad = tmp_path / "pnpm-audit.json"
    bad.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    done = Gate(tmp_path / "gate", artifacts={"audit_report": str(bad)}).run("test_dependency_audit_at_level_high")
    _failed_cleanly(done, "pipeline", f"{bad}: ", *needles)


def test_a_high_advisory_blocks_though_the_summary_counts_none(tmp_path: Path) -> None:
    report = _pnpm((4, "undici", "high"), counts=dict.fromkeys(("info", "low", "moderate", "high", "critical"), 0))
    path = tmp_path / "pnpm-audit.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    done = Gate(tmp_path / "gate", artifacts={"audit_report": str(path)}).run("test_dependency_audit_at_level_high")
    _failed_cleanly(
        done,
        "pipeline",
        f"{path} (recorded report, not produced in this run) (pnpm 11): 1 advisories at high or above",
        "high undici: Something in undici",
        "summary counts, not used",
    )


# --- secret scan -------------------------------------------------------------------------------------


def test_a_secret_planted_in_a_copy_of_the_workspace_fails_the_scan_unseen(tmp_path: Path) -> None:
    gate = Gate(tmp_path / "gate")
    shutil.rmtree(gate.workspace)
    copy_workspace(gate.workspace)
    secret, path, line = plant_secret(gate.workspace)
    gate.artifacts["detect_secrets_baseline"] = str(gate.workspace / ".secrets.baseline")
    done = gate.run("test_secret_scan_is_clean")
    where = path.relative_to(gate.workspace)
    _failed_cleanly(done, "pipeline", "secret scan (values never shown)", f"{where}:{line}: AWS Access Key")
    assert secret not in done.stdout + done.stderr
    written = [*(tmp_path / "gate" / "state").rglob("*"), tmp_path / "gate" / "junit.xml"]
    for record in (item for item in written if item.is_file()):
        assert secret not in record.read_text(encoding="utf-8", errors="replace"), record


# --- the web build's staging variables ----------------------------------------------------------------


def _installed_workspace_copy(destination: Path) -> Path:
    """A copy of the workspace with its own node_modules, installed offline from pnpm's store."""
    copy = copy_workspace(destination)
    done = subprocess.run(
        ["pnpm", "install", "--frozen-lockfile", "--offline"],
        cwd=copy,
        env={**os.environ, "CI": "true"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return copy


def _web_build(gate: Gate, env: dict[str, str]) -> dict[str, Any]:
    return {"argv": ["pnpm", "--filter", "web", "build"], "cwd": str(gate.workspace), "env": env, "timeout_s": 300}


def test_a_variable_missing_from_the_build_is_named_in_the_failure(tmp_path: Path) -> None:
    gate = Gate(tmp_path / "gate", artifacts={"web_version_file": "apps/web/dist/version.json"})
    shutil.rmtree(gate.workspace)
    _installed_workspace_copy(gate.workspace)
    gate.actions = {"web_build": _web_build(gate, {"RELEASE_VERSION": "{version}", **STAGING_URLS})}
    del gate.actions["web_build"]["env"]["VITE_FUNCTIONS_URL"]
    environ = {key: value for key, value in os.environ.items() if not key.startswith("VITE_")}

    # Not in the gate's environment either: the build itself stops and names it.
    done = gate.run("test_build_uses_the_staging_variables", environ)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "action web_build failed" in output, output
    assert "missing required environment variable VITE_FUNCTIONS_URL" in output, output
    assert "RELEASE GATE: BLOCKED at validate/pipeline" in output, output

    # In the gate's environment but not the action's: the build passes, the check names the gap.
    done = gate.run("test_build_uses_the_staging_variables", {**environ, "VITE_FUNCTIONS_URL": "http://elsewhere"})
    _failed_cleanly(
        done,
        "pipeline",
        "the web build of target 'sandbox' is not given VITE_FUNCTIONS_URL",
        "[targets.sandbox.actions.web_build] env in release.toml",
    )


def test_the_build_records_the_staging_variables_it_was_given(tmp_path: Path) -> None:
    gate = Gate(tmp_path / "gate", artifacts={"web_version_file": "apps/web/dist/version.json"})
    shutil.rmtree(gate.workspace)
    _installed_workspace_copy(gate.workspace)
    gate.actions = {"web_build": _web_build(gate, {"RELEASE_VERSION": "{version}", **STAGING_URLS})}
    done = gate.run("test_build_uses_the_staging_variables")
    assert done.returncode == 0, done.stdout + done.stderr
    built = json.loads((gate.workspace / "apps" / "web" / "dist" / "version.json").read_text(encoding="utf-8"))
    assert built["functions_url"] == STAGING_URLS["VITE_FUNCTIONS_URL"]
