"""Deployment actions: exactly once, ledger, timeout, missing command, masking, dry run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ACT_SCRIPT = """
import os, sys, time
what = sys.argv[1]
with open("calls.txt", "a") as f:
    f.write(what + "\\n")
print("doing", what, "token", os.environ.get("GATE_TOKEN", "-"))
if what == "slow":
    time.sleep(30)
if what == "fail":
    sys.exit(7)
"""

RELEASE_TOML = """
[targets.sandbox]
auto_rollback = true
secrets = ["GATE_TOKEN"]

[targets.sandbox.actions.db_push]
argv = ["{python}", "act.py", "push"]
timeout_s = 60

[targets.sandbox.actions.notify]
argv = ["{python}", "act.py", "notify", "--url", "https://hooks.example.test/${GATE_TOKEN}"]

[targets.sandbox.actions.read_status]
argv = ["{python}", "act.py", "status"]

[targets.sandbox.actions.slow]
argv = ["{python}", "act.py", "slow"]
timeout_s = 1

[targets.sandbox.actions.fails]
argv = ["{python}", "act.py", "fail"]

[targets.sandbox.actions.missing]
argv = ["no-such-command-for-the-gate", "--flag"]

[targets.sandbox.actions.undo_push]
argv = ["{python}", "act.py", "undo"]
"""

CONFTEST = """
from plugin import release_action

db_push = release_action("db_push", phase="deploy_staging", step="migrations")
notify = release_action("notify", phase="pre_release", step="notify")
read_status = release_action("read_status", phase="deploy_staging", step="migrations", mutating=False)
slow = release_action("slow", phase="deploy_staging", step="migrations")
fails = release_action("fails", phase="deploy_staging", step="migrations")
missing = release_action("missing", phase="deploy_staging", step="migrations")
undo_push = release_action("undo_push", phase="rollback", step="schema", compensates="db_push")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("GATE_TOKEN", "s3cr3t-token-value")
    pytester.makefile(".toml", release=RELEASE_TOML)
    pytester.makepyfile(act=ACT_SCRIPT)
    pytester.makeconftest(CONFTEST)
    return pytester


def _ledger(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    runs = sorted((pytester.path / ".release-gate" / "runs").iterdir())
    path = runs[-1] / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _calls(pytester: pytest.Pytester) -> list[str]:
    path = pytester.path / "calls.txt"
    return path.read_text().split() if path.exists() else []


def test_action_runs_once_per_run_under_four_workers(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_deploy="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        @pytest.mark.parametrize("n", range(12))
        def test_uses_push(db_push, n):
            assert db_push.ok

        @pytest.mark.phase("deploy_staging", "functions")
        @pytest.mark.parametrize("n", range(4))
        def test_later_reads_record(db_push, n):
            assert db_push.ok and db_push.status == "ok"
        """
    )
    result = project.runpytest_subprocess("-n", "4", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=16)
    assert _calls(project) == ["push"]
    records = [r for r in _ledger(project) if r.get("action") == "db_push"]
    assert len(records) == 1
    record = records[0]
    assert record["status"] == "ok"
    assert record["exit_code"] == 0
    assert record["unit"] == "deploy_staging/migrations"
    assert {"started", "ended", "duration_s", "output_tail", "actor", "commands"} <= set(record)
    assert record["actor"]["worker"].startswith("gw")
    assert "doing push" in record["output_tail"]


def test_secret_in_argv_and_output_is_masked(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_notify="""
        import pytest

        @pytest.mark.phase("pre_release", "notify")
        def test_notify(notify):
            print(notify.output_tail)
            assert notify.ok
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    assert "s3cr3t-token-value" not in result.stdout.str()
    ledger_text = json.dumps(_ledger(project))
    assert "s3cr3t-token-value" not in ledger_text
    assert "***" in ledger_text
    logs = list((project.path / ".release-gate").rglob("*.log"))
    assert logs
    assert all("s3cr3t-token-value" not in log.read_text() for log in logs)


def test_failing_timeout_and_missing_command_block_the_gate(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_fails(fails):
            pass

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_slow(slow):
            pass

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_missing(missing):
            pass

        @pytest.mark.phase("deploy_staging", "functions")
        def test_after():
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=3, skipped=1)
    out = result.stdout.str()
    assert "action fails failed: exited with code 7" in out
    assert "action slow timeout: timed out after 1s; process group killed" in out
    assert "action missing missing_command: command 'no-such-command-for-the-gate' not found on PATH" in out
    assert "RELEASE GATE: BLOCKED at deploy_staging/migrations" in out
    assert "INTERNALERROR" not in out
    assert "Traceback" not in out
    statuses = {r["action"]: r["status"] for r in _ledger(project) if r.get("kind") == "action"}
    assert statuses == {"fails": "failed", "slow": "timeout", "missing": "missing_command"}


def test_action_of_another_unit_is_refused(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_order="""
        import pytest

        @pytest.mark.phase("deploy_staging", "functions")
        def test_wrong_unit(db_push):
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*refused: action db_push belongs to deploy_staging/migrations*"])
    assert _calls(project) == []


def test_dry_run_plans_mutating_actions_and_runs_read_only_ones(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_dry="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_push(db_push, read_status):
            assert db_push.planned
            assert read_status.status == "ok"
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--release-dry-run")
    result.assert_outcomes(passed=1)
    assert _calls(project) == ["status"]
    statuses = {r["action"]: r["status"] for r in _ledger(project) if r.get("kind") == "action"}
    assert statuses == {"db_push": "planned", "read_status": "ok"}


def test_failure_after_a_deploy_triggers_the_rollback_units(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_release="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_push(db_push):
            assert db_push.ok

        @pytest.mark.phase("verify_staging", "checks")
        def test_smoke():
            assert False, "smoke failed"

        @pytest.mark.phase("post_release", "monitor")
        def test_monitor():
            pass

        @pytest.mark.phase("rollback", "schema")
        def test_undo(undo_push):
            assert undo_push.status == "ok"
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*rollback: completed*",
            "*RELEASE GATE: BLOCKED at verify_staging/checks (failed: test_release.py::test_smoke)*",
        ]
    )
    assert _calls(project) == ["push", "undo"]


def test_no_rollback_when_nothing_was_deployed(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_release="""
        import pytest

        @pytest.mark.phase("verify_staging", "checks")
        def test_smoke():
            assert False

        @pytest.mark.phase("rollback", "schema")
        def test_undo(undo_push):
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*rollback: not triggered (nothing was deployed in this run)*"])
    assert _calls(project) == []


def _wait_for(path: Path, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear in {path} within {timeout_s}s")


def test_ctrl_c_mid_deploy_is_blocked_and_recorded(project: pytest.Pytester) -> None:
    project.makefile(".toml", release=RELEASE_TOML.replace("timeout_s = 1", "timeout_s = 120"))
    project.makepyfile(
        test_release="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_slow(slow):
            pass
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for(project.path / "calls.txt", "slow", timeout_s=60)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 2, out
    assert "RELEASE GATE: BLOCKED at deploy_staging/migrations (interrupted: the run did not finish)" in out
    records = _ledger(project)
    assert any(r.get("action") == "slow" and r["status"] == "interrupted" for r in records)
    assert any(r.get("event") == "interrupted" for r in records)


def test_unit_free_action_and_after_run_once_in_order(project: pytest.Pytester) -> None:
    project.makefile(
        ".toml",
        release=RELEASE_TOML
        + """
[targets.sandbox.actions.platform_up]
argv = ["{python}", "act.py", "up"]
[targets.sandbox.actions.push_after_up]
argv = ["{python}", "act.py", "push2"]
""",
    )
    project.makeconftest(
        CONFTEST
        + """
platform_up = release_action("platform_up", phase=None, mutating=False)
push_after_up = release_action(
    "push_after_up", phase="deploy_staging", step="migrations", after=("platform_up",)
)
"""
    )
    project.makepyfile(
        test_up="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_push(push_after_up):
            assert push_after_up.ok

        @pytest.mark.phase("verify_staging", "checks")
        def test_reads(platform_up):
            assert platform_up.ok
        """
    )
    plan = project.runpytest_subprocess("--release-plan", "-p", "no:cacheprovider")
    plan.stdout.fnmatch_lines(
        [
            "*deploy_staging/migrations: 1 tests*",
            "*action platform_up (read-only*",
            "*action push_after_up (mutating, after platform_up*",
        ]
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert _calls(project) == ["up", "push2"]
    units = {r["action"]: r["unit"] for r in _ledger(project) if r.get("kind") == "action"}
    assert units == {"platform_up": "any unit", "push_after_up": "deploy_staging/migrations"}


def test_secret_in_a_failure_message_and_captured_output_is_masked(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_leak="""
        import os
        import pytest

        @pytest.mark.phase("pre_release", "review")
        def test_leaks():
            token = os.environ["GATE_TOKEN"]
            print("captured", token)
            assert token == "something else"
        """
    )
    results = project.path / "allure-results"
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-ra", f"--alluredir={results}")
    result.assert_outcomes(failed=1)
    assert "s3cr3t-token-value" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*E       AssertionError: assert '***' == 'something else'*"])
    result.stdout.fnmatch_lines(["FAILED test_leak.py::test_leaks - AssertionError: assert '***' ==*"])
    for path in results.iterdir():
        assert "s3cr3t-token-value" not in path.read_text(errors="replace"), path.name


def test_a_notification_does_not_trigger_a_rollback(project: pytest.Pytester) -> None:
    project.makeconftest(
        CONFTEST.replace(
            'notify = release_action("notify", phase="pre_release", step="notify")',
            'notify = release_action("notify", phase="pre_release", step="notify", deploys=False)',
        )
    )
    project.makepyfile(
        test_release="""
        import pytest

        @pytest.mark.phase("pre_release", "notify")
        def test_notify(notify):
            assert notify.ok

        @pytest.mark.phase("validate", "pipeline")
        def test_lint():
            assert False

        @pytest.mark.phase("rollback", "schema")
        def test_undo(undo_push):
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*rollback: not triggered (nothing was deployed in this run)*"])


def test_action_output_is_attached_to_allure_masked_also_when_it_fails(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_attach="""
        import pytest

        @pytest.mark.phase("pre_release", "notify")
        def test_notify(notify):
            assert notify.ok

        @pytest.mark.phase("deploy_staging", "migrations")
        @pytest.mark.advisory
        def test_fails(fails):
            pass
        """
    )
    results = project.path / "allure-results"
    result = project.runpytest_subprocess("-p", "no:cacheprovider", f"--alluredir={results}")
    result.assert_outcomes(passed=1, errors=1)
    attached: dict[str, str] = {}
    for container in results.glob("*-container.json"):
        for before in json.loads(container.read_text()).get("befores", []):
            for attachment in before.get("attachments", []):
                attached[attachment["name"]] = (results / attachment["source"]).read_text()
    assert set(attached) == {"action notify output (masked)", "action fails output (masked)"}
    assert "doing notify token ***" in attached["action notify output (masked)"]
    assert "doing fail" in attached["action fails output (masked)"]
    assert all("s3cr3t-token-value" not in text for text in attached.values())
