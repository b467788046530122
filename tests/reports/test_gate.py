"""The gate over Allure results, on results of real child pytest runs of a small gate suite.

Three runs are made once per module, each into its own results folder: a passing one (with an
advisory failure), a blocked one, and one of another module whose checklist has an item no test
covers. Every case copies a folder, damages it the way the case needs, and runs
``python -m reports.gate`` as a child process: the exit code and the named reason are checked,
and no traceback may appear.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reports.gate import fallback_nodeid, run_started_ms

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120

CHECKLIST = """
schema = 1

[[item]]
id = "pre_release.changelog"
phase = "pre_release"
step = "review"
environments = ["staging"]
section = "Release Checklist / Pre-Release"
text = "Update CHANGELOG.md with release notes"

[[item]]
id = "deploy_staging.push"
phase = "deploy_staging"
step = "migrations"
environments = ["staging", "production"]
section = "Deployment / Staging"
text = "supabase db push"

[[item]]
id = "deploy_production.prerequisites"
phase = "deploy_production"
step = "prerequisites"
environments = ["production"]
section = "Deployment / Production"
text = "Staging is green"
"""

UNCOVERED_ITEM = """
[[item]]
id = "verify_staging.smoke"
phase = "verify_staging"
step = "checks"
environments = ["staging"]
section = "Verification / Staging"
text = "Smoke tests pass"
"""

SUITE = """
import os
import pytest

def _fail(name):
    assert os.environ.get("GATE_FAIL") != name

@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.changelog")
@pytest.mark.staging
def test_changelog():
    _fail("test_changelog")

@pytest.mark.phase("validate", "pipeline")
@pytest.mark.advisory(reason="perf budget is advisory")
def test_perf():
    assert False, "slow"

@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.checklist("deploy_staging.push")
@pytest.mark.staging
@pytest.mark.parametrize("n", range(2))
def test_push(n):
    _fail(f"test_push[{n}]")
"""


@dataclass(frozen=True)
class Runs:
    passed: Path
    blocked: Path
    other: Path


def _project(root: Path, module: str, checklist: str) -> Path:
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "checks").mkdir()
    (root / "checks" / "runbook.toml").write_text(checklist)
    (root / f"{module}.py").write_text(SUITE)
    return root


def _run_suite(project: Path, results: Path, fail: str = "") -> int:
    env = {**os.environ, "GATE_FAIL": fail}
    env.pop("GITHUB_STEP_SUMMARY", None)
    argv = [sys.executable, "-m", "pytest", "--release-env", "staging", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*argv, f"--alluredir={results}"],
        check=False,
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert (results / "release-gate-manifest.json").is_file(), done.stdout + done.stderr
    return done.returncode


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("gate-runs")
    project = _project(base / "project", "test_rel", CHECKLIST)
    other = _project(base / "other", "test_other", CHECKLIST + UNCOVERED_ITEM)
    made = Runs(passed=base / "passed", blocked=base / "blocked", other=base / "other-results")
    assert _run_suite(project, made.passed) == 0
    assert _run_suite(project, made.blocked, fail="test_changelog") == 1
    assert _run_suite(other, made.other) == 0
    return made


def _copy(source: Path, tmp_path: Path, name: str = "results") -> Path:
    return Path(shutil.copytree(source, tmp_path / name))


def _gate(
    results: Path, tmp_path: Path, env: str = "staging", step_summary: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ)
    environ.pop("GITHUB_STEP_SUMMARY", None)
    if step_summary is not None:
        environ["GITHUB_STEP_SUMMARY"] = str(step_summary)
    argv = [sys.executable, "-m", "reports.gate", str(results), "--env", env, "--summary", str(tmp_path / "summary.md")]
    done = subprocess.run(
        argv, check=False, cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert "Traceback" not in done.stderr + done.stdout
    return done


def _result_files(results: Path) -> dict[str, Path]:
    """Result files by the node id in their ``gate_nodeid`` label."""
    files: dict[str, Path] = {}
    for path in results.glob("*-result.json"):
        labels = json.loads(path.read_text())["labels"]
        files[next(lb["value"] for lb in labels if lb["name"] == "gate_nodeid")] = path
    return files


def _edit(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_a_passing_run_passes_and_writes_the_summary(runs: Runs, tmp_path: Path) -> None:
    done = _gate(runs.passed, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "ALLURE GATE: PASSED" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows[1][:3] == ["pre_release", "pre_release.changelog", "passed"]
    assert rows[2][:4] == ["validate", "test_rel.py::test_perf", "advisory", "failed"]
    assert rows[3][:3] == ["deploy_staging", "deploy_staging.push", "passed"]
    assert not any("deploy_production.prerequisites" in row for row in rows)  # production only
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("## Release gate over Allure results: PASSED")
    assert "| deploy_staging | `deploy_staging.push` | passed |" in summary


def test_production_items_are_owed_with_env_production(runs: Runs, tmp_path: Path) -> None:
    done = _gate(runs.passed, tmp_path, env="production")
    assert done.returncode == 3
    assert "results of a staging run, not production" in done.stderr


def test_a_blocked_run_is_blocked(runs: Runs, tmp_path: Path) -> None:
    done = _gate(runs.blocked, tmp_path)
    assert done.returncode == 1
    assert "blocking test test_rel.py::test_changelog failed" in done.stderr
    assert "blocking test test_rel.py::test_push[0] was skipped by the closed gate" in done.stderr
    assert "item deploy_staging.push has no passed result (gated)" in done.stderr
    assert "the run's own verdict: RELEASE GATE: BLOCKED" in done.stderr
    assert "ALLURE GATE: BLOCKED" in done.stdout


def test_an_empty_folder_is_incomplete(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert f"{results}: empty folder" in done.stderr


def test_a_missing_folder_is_incomplete(tmp_path: Path) -> None:
    done = _gate(tmp_path / "nowhere", tmp_path)
    assert done.returncode == 3
    assert f"{tmp_path / 'nowhere'}: not a directory" in done.stderr


def test_a_truncated_result_is_unreadable(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    victim = _result_files(results)["test_rel.py::test_changelog"]
    text = victim.read_text()
    victim.write_text(text[: len(text) // 2])
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert f"{victim}: not valid JSON (truncated or corrupt)" in done.stderr


def test_a_result_of_a_test_not_collected_is_incomplete(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    stray = _result_files(runs.other)["test_other.py::test_changelog"]
    shutil.copy(stray, results / stray.name)
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert (
        f"{results / stray.name}: result for test_other.py::test_changelog, a test the manifest does not list"
        in done.stderr
    )


def test_a_missing_result_is_incomplete(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    _result_files(results)["test_rel.py::test_push[1]"].unlink()
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert f"{results / 'release-gate-manifest.json'}: test_rel.py::test_push[1] has no result" in done.stderr


def test_two_runs_in_one_folder_are_incomplete(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    shutil.copytree(runs.blocked, results, dirs_exist_ok=True)  # the second run writes into the same folder
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    mixed = [line for line in done.stderr.splitlines() if line.endswith("results of two runs mixed")]
    assert mixed, done.stderr


def test_environment_of_another_run_is_incomplete(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    shutil.copy(runs.blocked / "environment.properties", results / "environment.properties")
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert f"{results / 'environment.properties'}: run_id " in done.stderr
    assert "differs from the manifest's" in done.stderr


def test_a_result_labelled_with_another_run_is_incomplete(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    victim = _result_files(results)["test_rel.py::test_changelog"]
    data = json.loads(victim.read_text())
    labels = [label for label in data["labels"] if label["name"] != "gate_run_id"]
    _edit(victim, labels=[*labels, {"name": "gate_run_id", "value": "20000101T000000Z-000000"}])
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert f"{victim}: from run 20000101T000000Z-000000" in done.stderr


def test_a_result_older_than_the_run_is_incomplete(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    victim = _result_files(results)["test_rel.py::test_changelog"]
    _edit(victim, start=1_000, stop=2_000)
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert f"{victim}: test_rel.py::test_changelog started before run" in done.stderr


def test_a_checklist_item_without_a_result_blocks(runs: Runs, tmp_path: Path) -> None:
    done = _gate(runs.other, tmp_path)
    assert done.returncode == 1
    assert "item verify_staging.smoke has no passed result (no test covers it)" in done.stderr
    assert "verify_staging.smoke" in (tmp_path / "summary.md").read_text()


def test_a_missing_manifest_is_incomplete(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    (results / "release-gate-manifest.json").unlink()
    done = _gate(results, tmp_path)
    assert done.returncode == 3
    assert f"{results / 'release-gate-manifest.json'}: missing" in done.stderr


def test_status_unknown_is_inconclusive(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    victim = _result_files(results)["test_rel.py::test_changelog"]
    _edit(victim, status="unknown")
    done = _gate(results, tmp_path)
    assert done.returncode == 2
    assert f"{victim}: blocking test test_rel.py::test_changelog ended with status unknown" in done.stderr
    assert "ALLURE GATE: INCONCLUSIVE" in done.stdout


def test_results_without_the_node_id_label_match_by_title_path(runs: Runs, tmp_path: Path) -> None:
    results = _copy(runs.passed, tmp_path)
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        _edit(path, labels=[lb for lb in data["labels"] if lb["name"] != "gate_nodeid"])
    done = _gate(results, tmp_path)
    assert done.returncode == 0, done.stderr


def test_the_step_summary_is_appended(runs: Runs, tmp_path: Path) -> None:
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("# earlier step\n")
    done = _gate(runs.passed, tmp_path, step_summary=step_summary)
    assert done.returncode == 0, done.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert step_summary.read_text() == "# earlier step\n" + summary + "\n"
    _gate(runs.blocked, tmp_path, step_summary=step_summary)
    appended = step_summary.read_text()
    assert appended.count("## Release gate over Allure results") == 2
    assert "## Release gate over Allure results: BLOCKED" in appended


def test_fallback_node_id_from_title_path() -> None:
    data = {"titlePath": ["tests", "test_x.py", "TestA"], "name": "test_b[1-x]"}
    assert fallback_nodeid(data) == "tests/test_x.py::TestA::test_b[1-x]"
    assert fallback_nodeid({"titlePath": ["test_x.py"], "name": "test_c"}) == "test_x.py::test_c"
    assert fallback_nodeid({"name": "test_c"}) is None


def test_run_start_from_the_run_id() -> None:
    assert run_started_ms("19700101T000001Z-abcdef") == 1000
    assert run_started_ms("not-a-run-id") is None
