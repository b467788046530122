"""``checks/test_pre_release.py`` under the release gate, end to end, in a child pytest.

Each run gets its own ``release.toml`` (``-o release_config``) and state folder, so the
project's own sandbox state and artifacts are not touched. The good run generates the
SBOMs with the real generator (``pnpm sbom``) and talks to the recorded fakes on loopback;
the bad runs feed every check a broken input or point GitHub at a failing loopback server,
and must end BLOCKED with each problem named: no pass, no traceback, no INTERNALERROR, no
secret in the output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checks.remote.fakes import FakeGitHub
from checks.remote.server import Fault
from sandbox.release_repo import ensure_release_repo
from tests.checks.test_pre_release_artifacts import CYCLONEDX, SPDX

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDED = REPO_ROOT / "sandbox" / "recorded"
WORKSPACE = REPO_ROOT / "sandbox" / "workspace"
GATE_TIMEOUT_S = 600
OUTER_TOKEN = "ghs_" + "OuterFakeToken0000000000000000000000"

CONFIG = """
[targets.sandbox]
version_file = "{root}/sandbox/VERSION"

[targets.sandbox.vars]
release_repo = "{tmp}/release-repo"

[targets.sandbox.actions.release_repo]
argv = ["{{python}}", "-m", "sandbox.release_repo", "--repo", "{{release_repo}}", "--version", "{{version}}"]
timeout_s = 60

[targets.sandbox.actions.sbom_generate]
{sbom_action}
timeout_s = 300

[targets.sandbox.actions.notify_stakeholders]
argv = ["{{python}}", "-m", "checks.remote.slack", "--config", "{tmp}/release.toml", "--target", "{{target}}",
        "--env", "{{env}}", "--version", "{{version}}"]
timeout_s = 60

[targets.sandbox.checks.github]
repository = "icupa/icupa-sandbox"
{github_source}
token_env = "PRE_RELEASE_TEST_GH_TOKEN"
per_page = 2
timeout_s = {github_timeout}

[targets.sandbox.checks.github.triage]
require_milestone = true
triaged_labels = ["triaged"]

[targets.sandbox.checks.github.critical_checks]
unit = ["test (web)", "test (agents-service)"]
integration = ["integration (supabase db test)"]
playwright = ["e2e (playwright)"]

[targets.sandbox.checks.slack]
fake = true
webhook_env = "PRE_RELEASE_TEST_SLACK_WEBHOOK"
release_window = "test window for {{version}}"
rollout_plan = ["internal tenants", "pilot tenants", "full GA"]

[targets.sandbox.checks.release]
repo = "{{release_repo}}"
release_ref = "refs/heads/main"
changelog = "{changelog}"
sbom_cyclonedx = "{tmp}/sbom/icupa.cdx.json"
sbom_spdx = "{tmp}/sbom/icupa.spdx.json"
codeql_sarif = "{sarif}"
audit_report = "{audit}"

# Not read by the pre-release checks, but checked at start-up (checks/conftest.py).
[targets.sandbox.checks.artifacts]
workspace = "{root}/sandbox/workspace"
eslint_report = "{tmp}/eslint.json"
audit_report = "{audit}"
gitleaks_report = "{tmp}/gitleaks.json"
sbom_files = ["{tmp}/sbom/icupa.cdx.json", "{tmp}/sbom/icupa.spdx.json"]

[targets.sandbox.checks.coverage]
format = "cobertura"
figure = "both"
packages = ["apps/web"]
"""

REAL_SBOMS = """commands = [
    ["pnpm", "--dir", "{workspace}", "--recursive", "sbom", "--sbom-format", "cyclonedx", "--sbom-spec-version", "1.6",
     "--sbom-type", "application", "--out", "{tmp}/sbom/icupa.cdx.json"],
    ["pnpm", "--dir", "{workspace}", "--recursive", "sbom", "--sbom-format", "spdx", "--sbom-type", "application",
     "--out", "{tmp}/sbom/icupa.spdx.json"],
]"""
NO_OP_SBOMS = 'argv = ["{python}", "-c", "print(\'SBOMs prepared by the test\')"]'


@dataclass
class GateRun:
    returncode: int
    output: str
    ledger: list[dict[str, Any]]
    ledger_text: str


def _write_config(tmp: Path, **values: str) -> Path:
    defaults = {
        "root": str(REPO_ROOT),
        "tmp": str(tmp),
        "sbom_action": REAL_SBOMS.format(workspace=WORKSPACE, tmp=tmp),
        "github_source": f'recorded = "{RECORDED / "github"}"',
        "github_timeout": "10",
        "changelog": str(WORKSPACE / "CHANGELOG.md"),
        "sarif": str(RECORDED / "codeql" / "icupa-javascript.sarif"),
        "audit": str(RECORDED / "audit" / "pnpm-audit-pre-release.json"),
    }
    config = tmp / "release.toml"
    config.write_text(CONFIG.format(**{**defaults, **values}), encoding="utf-8")
    return config


def _gate(tmp: Path, env: dict[str, str] | None = None, *args: str) -> GateRun:
    state = tmp / "gate"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PRE_RELEASE_TEST_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "checks/test_pre_release.py",
            "--release-env",
            "staging",
            "-p",
            "no:cacheprovider",
            "-o",
            f"release_config={tmp / 'release.toml'}",
            "-o",
            f"release_state_dir={state}",
            *args,
        ],
        cwd=REPO_ROOT,
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=GATE_TIMEOUT_S,
        check=False,
    )
    ledgers = list(state.glob("runs/*/ledger.jsonl"))
    text = ledgers[0].read_text(encoding="utf-8") if ledgers else ""
    return GateRun(done.returncode, done.stdout + done.stderr, [json.loads(line) for line in text.splitlines()], text)


def _statuses(run: GateRun) -> dict[str, str]:
    return {record["action"]: record["status"] for record in run.ledger if record.get("kind") == "action"}


def _assert_clean_failure_output(run: GateRun) -> None:
    assert "Traceback" not in run.output, run.output[-4000:]
    assert "INTERNALERROR" not in run.output, run.output[-4000:]
    assert "During handling of the above exception" not in run.output, run.output[-4000:]
    assert OUTER_TOKEN not in run.output


def test_the_pre_release_phase_passes_on_the_sandbox(tmp_path: Path) -> None:
    _write_config(tmp_path)
    run = _gate(tmp_path)
    assert run.returncode == 0, run.output[-5000:]
    assert "12 passed" in run.output
    assert "RELEASE GATE: PASSED" in run.output
    assert _statuses(run) == {"release_repo": "ok", "sbom_generate": "ok", "notify_stakeholders": "ok"}
    notify = next(r for r in run.ledger if r.get("action") == "notify_stakeholders")
    assert (notify["unit"], notify["mutating"], notify["executed"]) == ("pre_release/notify", True, True)
    log = Path(notify["log"]).read_text(encoding="utf-8")
    for text in (run.output, run.ledger_text, log):  # the webhook's secret path is never shown
        assert not re.search(r"/services/(?!\*\*\*)", text)
    assert "/services/***" in log
    assert json.loads((tmp_path / "sbom" / "icupa.cdx.json").read_text())["metadata"]["component"]["version"] == "0.1.0"


@pytest.fixture
def failing_github(tmp_path: Path) -> Iterator[FakeGitHub]:
    with FakeGitHub(
        RECORDED / "github", "icupa/icupa-sandbox", token=OUTER_TOKEN, git_repo=tmp_path / "release-repo"
    ) as server:
        yield server


def _bad_inputs(tmp: Path) -> dict[str, str]:
    """Broken inputs for every review check; the repository's tag is on the wrong commit."""
    repo = tmp / "release-repo"
    ensure_release_repo(repo, "v0.1.0", WORKSPACE)
    subprocess.run(
        ["git", "-C", str(repo), "tag", "-f", "-a", "-m", "moved", "v0.1.0", "HEAD~1"],
        env={**os.environ, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"},
        capture_output=True,
        timeout=30,
        check=True,
    )
    (tmp / "sbom").mkdir()
    other = json.loads(json.dumps(CYCLONEDX))
    other["metadata"]["component"]["version"] = "0.2.0"
    (tmp / "sbom" / "icupa.cdx.json").write_text(json.dumps(other), encoding="utf-8")
    (tmp / "sbom" / "icupa.spdx.json").write_text(json.dumps(SPDX)[:200], encoding="utf-8")
    (tmp / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Ships as 0.1.0.\n")
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "CodeQL", "rules": [{"id": "js/sql-injection"}]}},
                "results": [{"ruleId": "js/sql-injection", "ruleIndex": 0, "message": {"text": "query from input"}}],
            }
        ],
    }
    (tmp / "codeql.sarif").write_text(json.dumps(sarif), encoding="utf-8")
    (tmp / "audit.json").write_text("", encoding="utf-8")
    return {
        "sbom_action": NO_OP_SBOMS,
        "changelog": str(tmp / "CHANGELOG.md"),
        "sarif": str(tmp / "codeql.sarif"),
        "audit": str(tmp / "audit.json"),
    }


def test_bad_inputs_block_the_gate_with_each_problem_named(tmp_path: Path, failing_github: FakeGitHub) -> None:
    failing_github.fault = Fault(status=500, body={"message": "Server Error"})
    values = _bad_inputs(tmp_path)
    _write_config(tmp_path, github_source=f'api_url = "{failing_github.base_url}"', **values)
    run = _gate(tmp_path, {"PRE_RELEASE_TEST_GH_TOKEN": OUTER_TOKEN})
    assert run.returncode == 1, run.output[-5000:]
    _assert_clean_failure_output(run)
    assert "RELEASE GATE: BLOCKED at pre_release/review" in run.output
    expected = [
        f"{tmp_path / 'CHANGELOG.md'}: 0.1.0 appears only under [Unreleased]",
        f"{tmp_path / 'release-repo'}: tag v0.1.0 points at",
        f"{tmp_path / 'sbom' / 'icupa.cdx.json'}: metadata.component.version is '0.2.0', but the release is v0.1.0",
        f"{tmp_path / 'sbom' / 'icupa.spdx.json'}: not valid JSON",
        f"{tmp_path / 'codeql.sarif'}: 1 results carry no severity",
        f"{tmp_path / 'audit.json'}: empty file",
        "GET /repos/icupa/icupa-sandbox/issues?labels=S0&state=open&per_page=2: 500 server error",
        "/check-runs?filter=latest&per_page=2: 500 server error",
        "GET /repos/icupa/icupa-sandbox/git/ref/tags/v0.1.0: 500 server error",
    ]
    for needle in expected:
        assert needle in run.output, needle
    assert "passed" not in run.output.splitlines()[-1]
    assert _statuses(run) == {"release_repo": "ok", "sbom_generate": "ok"}  # the gate closed before notify
    assert re.search(r"pre_release\s+0\s+\d+\s+1\s", run.output), run.output[-2000:]


@dataclass(frozen=True)
class GitHubFailure:
    fault: Fault | None
    token: str
    timeout: str
    expected: str


@pytest.mark.parametrize(
    "case",
    [
        GitHubFailure(
            None,
            "ghs_" + "Wrong" * 7 + "W",
            "10",
            "401 Unauthorized (Bad credentials): the token in PRE_RELEASE_TEST_GH_TOKEN",
        ),
        GitHubFailure(Fault(delay_s=5.0), OUTER_TOKEN, "0.5", "no answer within 0.5s (timeout)"),
    ],
    ids=["401", "timeout"],
)
def test_github_failures_block_the_gate(tmp_path: Path, failing_github: FakeGitHub, case: GitHubFailure) -> None:
    fault, token, timeout, expected = case.fault, case.token, case.timeout, case.expected
    failing_github.fault = fault
    _write_config(
        tmp_path,
        github_source=f'api_url = "{failing_github.base_url}"',
        github_timeout=timeout,
        sbom_action=NO_OP_SBOMS,
    )
    (tmp_path / "sbom").mkdir()
    (tmp_path / "sbom" / "icupa.cdx.json").write_text(json.dumps(CYCLONEDX), encoding="utf-8")
    (tmp_path / "sbom" / "icupa.spdx.json").write_text(json.dumps(SPDX), encoding="utf-8")
    run = _gate(tmp_path, {"PRE_RELEASE_TEST_GH_TOKEN": token})
    assert run.returncode == 1, run.output[-5000:]
    _assert_clean_failure_output(run)
    assert token not in run.output
    assert expected in run.output
    assert "RELEASE GATE: BLOCKED at pre_release/review" in run.output
    # The checks that do not need GitHub still pass; every one that does fails.
    for name in ("test_changelog_has_the_release_section", "test_cyclonedx_sbom_is_valid_for_the_release"):
        assert f"checks/test_pre_release.py::{name}" not in run.output
    for name in ("test_critical_tests_are_green_for_the_release_commit[unit]", "test_release_tag_is_pushed_to_github"):
        assert (
            f"ERROR checks/test_pre_release.py::{name}" in run.output
            or f"FAILED checks/test_pre_release.py::{name}" in run.output
        )
    assert "FAILED checks/test_pre_release.py::test_s0_s1_issues_are_triaged" in run.output
