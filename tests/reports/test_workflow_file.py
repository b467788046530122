"""The CI workflow for the real platform (``.github/workflows/release-gate.yml``), read as data."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release-gate.yml"


@pytest.fixture(scope="module")
def jobs() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return dict(document["jobs"])


def _runs(job: dict[str, Any]) -> list[str]:
    return [" ".join(str(step["run"]).split()) for step in job["steps"] if "run" in step]


def _uploads(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step["with"] for step in job["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact@")]


def test_the_pull_request_check_is_the_ci_selection_with_its_gate(jobs: dict[str, Any]) -> None:
    runs = _runs(jobs["ci-validation"])
    assert any("pytest -m ci -n auto --alluredir allure-results" in run for run in runs)
    assert any("reports.gate allure-results --env ci" in run for run in runs)


@pytest.mark.parametrize(("job", "selection"), [("staging-release", "staging"), ("production-promotion", "production")])
def test_release_jobs_run_the_selection_gate_and_report(jobs: dict[str, Any], job: str, selection: str) -> None:
    runs = _runs(jobs[job])
    assert any(
        f"-m {selection} -n auto --alluredir allure-results" in run and "--release-target icupa" in run for run in runs
    )
    assert any(f"reports.gate allure-results --env {selection}" in run for run in runs)
    assert any("allure-commandline@2.46.1 generate allure-results" in run for run in runs)
    (upload,) = _uploads(jobs[job])
    # The run records (a hidden folder) hold the verdict the production job's sign-off reads.
    assert upload["include-hidden-files"] is True
    assert ".release-gate/runs" in upload["path"]


def test_the_promotion_starts_from_the_staging_run_records(jobs: dict[str, Any]) -> None:
    steps = jobs["production-promotion"]["steps"]
    download = next(s for s in steps if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "release-gate-${{ inputs.version }}"
    assert download["with"]["run-id"] == "${{ inputs.staging_run_id }}"
    assert jobs["production-promotion"]["environment"] == "production"
    assert jobs["production-promotion"]["permissions"]["actions"] == "read"


def test_every_secret_the_workflow_passes_is_masked_by_the_gate(jobs: dict[str, Any]) -> None:
    """A secret handed to the gate in a variable the icupa target does not list would be printed."""
    target = tomllib.loads((ROOT / "release.toml").read_text(encoding="utf-8"))["targets"]["icupa"]
    masked = set(target["secrets"])
    passed = {
        name
        for job in jobs.values()
        for name, value in (job.get("env") or {}).items()
        if re.search(r"\$\{\{\s*secrets\.", str(value))
    }
    assert passed, "the release jobs pass no secrets at all"
    assert passed <= masked, f"not in targets.icupa.secrets: {sorted(passed - masked)}"
