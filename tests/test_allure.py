"""Allure results: one per collected gate test, skipped-by-gate ones included, labelled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SUITE = """
import pytest

@pytest.mark.phase("pre_release", "review")
@pytest.mark.checklist("pre_release.changelog")
def test_changelog(): pass

@pytest.mark.phase("validate", "pipeline")
@pytest.mark.advisory
@pytest.mark.ci
def test_perf(): assert False

@pytest.mark.phase("deploy_staging", "migrations")
@pytest.mark.parametrize("n", range(3))
def test_push(n): assert n != 1

@pytest.mark.phase("deploy_staging", "functions")
@pytest.mark.parametrize("n", range(3))
def test_functions(n): pass
"""

CHECKLIST = """
schema = 1
[[item]]
id = "pre_release.changelog"
phase = "pre_release"
step = "review"
environments = ["staging"]
section = "Release Checklist / Pre-Release"
text = "Update CHANGELOG.md with release notes"
"""


def _results(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in directory.glob("*-result.json")]


def _labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_every_gate_test_has_a_labelled_result(pytester: pytest.Pytester, workers: list[str]) -> None:
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "runbook.toml").write_text(CHECKLIST)
    pytester.makepyfile(test_release=SUITE)
    results_dir = pytester.path / "allure-results"
    result = pytester.runpytest_subprocess(*workers, f"--alluredir={results_dir}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=2, skipped=3)
    results = _results(results_dir)
    names = sorted(r["name"] for r in results)
    assert names == sorted(
        ["test_changelog", "test_perf"]
        + [f"test_push[{n}]" for n in range(3)]
        + [f"test_functions[{n}]" for n in range(3)]
    )
    assert not any("barrier" in r["fullName"] for r in results)
    by_name = {r["name"]: r for r in results}
    changelog = by_name["test_changelog"]
    assert _labels(changelog, "epic") == ["pre_release"]
    assert _labels(changelog, "feature") == ["review"]
    assert _labels(changelog, "story") == ["pre_release.changelog"]
    assert _labels(changelog, "severity") == ["blocker"]
    assert "staging" in _labels(changelog, "tag")
    perf = by_name["test_perf"]
    assert _labels(perf, "severity") == ["minor"]
    assert {"ci", "advisory"} <= set(_labels(perf, "tag"))
    skipped = by_name["test_functions[0]"]
    assert skipped["status"] == "skipped"
    assert "release gate closed: blocking failure in deploy_staging/migrations" in skipped["statusDetails"]["message"]
    assert _labels(skipped, "epic") == ["deploy_staging"]
    properties = (results_dir / "environment.properties").read_text()
    assert "target=sandbox" in properties
    assert "environment=" in properties
    assert "version=" in properties


def test_a_crashed_worker_leaves_a_broken_result_and_the_executor_is_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_crash="""
        import os
        import pytest

        @pytest.mark.phase("validate", "install")
        def test_dies():
            os._exit(3)

        @pytest.mark.phase("validate", "install")
        def test_lives():
            pass

        @pytest.mark.phase("validate", "pipeline")
        def test_later():
            pass
        """
    )
    results_dir = pytester.path / "allure-results"
    result = pytester.runpytest_subprocess("-n", "2", f"--alluredir={results_dir}", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*RELEASE GATE: BLOCKED at validate/install (crashed: test_crash.py::test_dies)*"])
    by_nodeid = {_labels(r, "gate_nodeid")[0]: r for r in _results(results_dir) if _labels(r, "gate_nodeid")}
    crashed = by_nodeid["test_crash.py::test_dies"]
    assert crashed["status"] == "broken"
    assert "crashed" in crashed["statusDetails"]["message"]
    assert _labels(crashed, "epic") == ["validate"]
    assert by_nodeid["test_crash.py::test_later"]["status"] == "skipped"
    executor = json.loads((results_dir / "executor.json").read_text())
    assert executor["name"] == "ICUPA release gate"
