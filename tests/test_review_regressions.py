"""Regression tests for fail-open paths found in a review of the engine (xdist runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def test_a_worker_that_cannot_read_the_gate_file_never_lets_the_run_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="""
        import time
        import pytest
        from plugin.runtime import RUNTIME_KEY

        @pytest.mark.phase("validate", "install")
        def test_corrupt(request):
            path = request.config.stash[RUNTIME_KEY].gate_file.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("garbage")

        @pytest.mark.phase("validate", "install")
        def test_slow():
            time.sleep(0.5)

        @pytest.mark.phase("validate", "pipeline")
        def test_later():
            assert False, "would fail if it ran"
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    assert "RELEASE GATE: PASSED" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*RELEASE GATE: BLOCKED*"])
    assert result.ret != 0


def test_a_crash_on_a_barrier_item_blocks_even_with_an_advisory_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_b="""
        import os, threading, time
        import pytest

        @pytest.mark.phase("validate", "install")
        def test_dies_later():
            threading.Timer(0.3, os._exit, [1]).start()

        @pytest.mark.phase("validate", "install")
        def test_slow():
            time.sleep(1.5)

        @pytest.mark.phase("validate", "install")
        @pytest.mark.advisory("flaky probe")
        def test_advisory():
            assert False

        @pytest.mark.phase("validate", "pipeline")
        def test_next():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", timeout=120)
    assert "RELEASE GATE: PASSED" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*RELEASE GATE: BLOCKED*"])
    assert result.ret != 0


def test_a_session_fixture_teardown_error_after_the_last_barrier_blocks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def sess():
            state = {"dirty": False}
            yield state
            if state["dirty"]:
                raise RuntimeError("session teardown failed: platform left dirty")
        """
    )
    pytester.makepyfile(
        test_h="""
        import time
        import pytest

        @pytest.mark.phase("validate", "install")
        def test_a(sess):
            time.sleep(0.3)

        @pytest.mark.phase("validate", "install")
        def test_b(sess):
            sess["dirty"] = True
            time.sleep(0.3)

        @pytest.mark.phase("validate", "pipeline")
        def test_c():
            time.sleep(0.5)
        """
    )
    for _ in range(2):
        result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
        assert "RELEASE GATE: PASSED" not in result.stdout.str(), result.stdout.str()[-2000:]
        assert result.ret != 0


def test_an_action_command_that_cannot_start_is_recorded(pytester: pytest.Pytester) -> None:
    script = pytester.path / "noshebang.sh"
    script.write_text("echo no interpreter line\n")
    script.chmod(0o755)
    pytester.makefile(
        ".toml",
        release="""
[targets.sandbox]
auto_rollback = true
[targets.sandbox.actions.deploy]
commands = [["{python}", "-c", "open('DEPLOYED', 'w').write('x')"], ["./noshebang.sh"]]
""",
    )
    pytester.makeconftest(
        "from plugin import release_action\n"
        "deploy = release_action('deploy', phase='deploy_staging', step='migrations')\n"
    )
    pytester.makepyfile(
        test_f="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_deploy(deploy):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*action deploy error: command 2 of 2: command './noshebang.sh' could not start*"])
    assert "Traceback" not in result.stdout.str()
    (ledger,) = (pytester.path / ".release-gate").glob("runs/*/ledger.jsonl")
    (record,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert record["executed"] is True
    result.stdout.fnmatch_lines(["*rollback: triggered (deployed in this run: deploy)*"])


def test_an_action_is_not_held_past_its_timeout_by_a_lingering_child(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        release="""
[targets.sandbox.actions.spawn]
argv = ["sh", "-c", "echo starting; sleep 25 & echo started"]
timeout_s = 5
""",
    )
    pytester.makeconftest(
        "from plugin import release_action\nspawn = release_action('spawn', phase='validate', step='install')\n"
    )
    pytester.makepyfile(
        test_g="import pytest\n@pytest.mark.phase('validate', 'install')\ndef test_spawn(spawn): pass\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    (ledger,) = (pytester.path / ".release-gate").glob("runs/*/ledger.jsonl")
    (record,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert record["duration_s"] < 15, record
    assert result.ret is not None


def test_multi_line_secrets_are_masked_in_captured_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(f"LINE{n:02d}abcdefghijklmnop" for n in range(6)) + "\n-----END"
    monkeypatch.setenv("SIGNING_PRIVATE_KEY", key)
    pytester.makepyfile(
        test_d="""
        import os
        import pytest

        @pytest.mark.phase("validate", "install")
        def test_leak():
            print(os.environ["SIGNING_PRIVATE_KEY"])
            assert False
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert "LINE03abcdefghijklmnop" not in result.stdout.str()
    assert Path(pytester.path).exists()


def test_escaped_secrets_are_masked_in_failure_reports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "Zx9\\q7!Lm")
    pytester.makepyfile(
        test_e="""
        import os
        import pytest

        @pytest.mark.phase("validate", "install")
        def test_leak():
            assert os.environ["DB_PASSWORD"] == "expected"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-ra")
    assert "Zx9" not in result.stdout.str()
