"""The phase-barrier scheduler under real xdist workers (subprocess runs)."""

from __future__ import annotations

import pytest

from tests.gate_suites import TRACE_HOOKS, barrier_violations, read_trace, unit_suite

UNITS = [("pre_release", "review"), ("validate", "install"), ("validate", "pipeline"), ("deploy_staging", "migrations")]


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(TRACE_HOOKS)
    pytester.makepyfile(test_release=unit_suite(UNITS, per_unit=4, sleep_s=0.2))
    return pytester


def _unit_of() -> dict[str, int]:
    return {f"test_u{u}_t{t}": u for u in range(len(UNITS)) for t in range(4)}


def test_units_run_in_order_and_in_parallel(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = suite.path / "trace.jsonl"
    monkeypatch.setenv("GATE_TRACE", str(trace))
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=16)
    result.stdout.fnmatch_lines(["*RELEASE GATE: PASSED*"])
    events = read_trace(trace)
    assert barrier_violations(events, _unit_of()) == []
    workers_per_unit: dict[int, set[str]] = {}
    for event in events:
        workers_per_unit.setdefault(_unit_of()[event["id"].split("::")[-1]], set()).add(event["w"])
    assert all(len(workers) == 2 for workers in workers_per_unit.values()), workers_per_unit


def test_failure_closes_gate_like_serial(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATE_FAIL", "test_u1_t2")
    outcomes = []
    for args in ([], ["-n", "2"]):
        result = suite.runpytest_subprocess(*args, "-p", "no:cacheprovider", "-rs")
        result.assert_outcomes(passed=7, failed=1, skipped=8)
        result.stdout.fnmatch_lines(
            [
                "*RELEASE GATE: BLOCKED at validate/install (failed: test_release.py::test_u1_t2)*",
                "*release gate closed: blocking failure in validate/install (failed: test_release.py::test_u1_t2)*",
            ]
        )
        assert result.ret == 1
        outcomes.append(result.parseoutcomes())
    assert outcomes[0] == outcomes[1]


def test_worker_crash_is_a_blocking_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_crash="""
        import os
        import pytest

        @pytest.mark.phase("pre_release", "review")
        @pytest.mark.parametrize("n", range(3))
        def test_review(n):
            pass

        @pytest.mark.phase("validate", "install")
        def test_dies():
            os._exit(3)

        @pytest.mark.phase("validate", "install")
        @pytest.mark.parametrize("n", range(3))
        def test_install(n):
            pass

        @pytest.mark.phase("validate", "pipeline")
        @pytest.mark.parametrize("n", range(4))
        def test_later(n):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, failed=1, skipped=4)
    result.stdout.fnmatch_lines(["*RELEASE GATE: BLOCKED at validate/install (crashed: test_crash.py::test_dies)*"])
    assert result.ret == 1
    assert "INTERNALERROR" not in result.stdout.str()


def test_non_gate_suite_uses_xdist_default_scheduler(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_a(): pass\ndef test_b(): pass\n")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "RELEASE GATE" not in result.stdout.str()


def test_workers_keep_the_rootdir_when_an_option_names_a_folder_outside(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`--alluredir /elsewhere/out`: the controller creates the folder before the workers
    start, and pytest would take it for a test path when each worker looks for its rootdir."""
    pytester.makeini("[pytest]\nrelease_checklist = runbook.toml\n")
    pytester.makefile(
        ".toml",
        runbook='schema = 1\n[[item]]\nid = "validate.install"\nphase = "validate"\nstep = "install"\n'
        'environments = ["ci"]\nsection = "s"\ntext = "t"\n',
    )
    pytester.makepyfile(
        test_rel="""
        import pytest

        @pytest.mark.phase("validate", "install")
        @pytest.mark.checklist("validate.install")
        @pytest.mark.parametrize("n", range(4))
        def test_install(n):
            pass
        """
    )
    outside = tmp_path_factory.mktemp("results-outside") / "allure"
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--alluredir", str(outside))
    result.stdout.fnmatch_lines(["*RELEASE GATE: PASSED*"])
    assert result.ret == 0
    assert len(list(outside.glob("*-result.json"))) == 4


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            '@pytest.mark.phase("prerelease", "review")\ndef test_typo(): pass\n',
            "*ERROR: release gate: bad gate test markers:*",
        ),
        (
            '@pytest.mark.phase("validate", "install")\ndef test_gate(): pass\n\ndef test_no_phase(): pass\n',
            "*ERROR: release gate: gate tests need @pytest.mark.phase*",
        ),
    ],
    ids=["unknown_phase", "missing_phase"],
)
def test_usage_error_found_by_workers_is_a_usage_error(pytester: pytest.Pytester, source: str, message: str) -> None:
    """Workers collect under xdist: their usage error reaches the controller as exit 4 with the
    message, as a serial run gives it, not as an INTERNALERROR of a controller without workers."""
    pytester.makepyfile(test_bad="import pytest\n\n" + source)
    for args in ([], ["-n", "2"]):
        result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider")
        output = result.stdout.str() + result.stderr.str()
        assert result.ret == pytest.ExitCode.USAGE_ERROR, (args, output)
        assert "INTERNALERROR" not in output
        assert "RELEASE GATE: PASSED" not in output
        (result.stdout if args else result.stderr).fnmatch_lines([message])
