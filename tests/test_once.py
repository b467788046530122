"""plugin.once.once_per_run: the work runs once per release run, across xdist workers."""

from __future__ import annotations

import pytest

CONFTEST = """
import os
import time

import pytest

from plugin.once import once_per_run


@pytest.fixture(scope="session")
def measured(pytestconfig):
    def produce():
        with open("calls.txt", "a") as handle:
            handle.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + "\\n")
        time.sleep(0.5)
        if os.environ.get("MEASURE_FAILS"):
            pytest.fail("the measurement broke", pytrace=False)
        return {"score": 0.93}

    return once_per_run(pytestconfig, "measurement", produce, timeout_s=60)
"""

SUITE = """
import pytest

@pytest.mark.phase("validate", "pipeline")
@pytest.mark.parametrize("n", range(6))
def test_uses(measured, n):
    assert measured == {"score": 0.93}
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_once=SUITE)
    return pytester


def test_two_workers_share_one_measurement(suite: pytest.Pytester) -> None:
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    calls = (suite.path / "calls.txt").read_text().split()
    assert len(calls) == 1, calls


def test_a_failure_is_kept_and_not_repeated(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEASURE_FAILS", "1")
    result = suite.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=6)
    result.stdout.fnmatch_lines(["*the measurement broke*"])
    assert len((suite.path / "calls.txt").read_text().split()) == 1
    result.stdout.fnmatch_lines(["*RELEASE GATE: BLOCKED at validate/pipeline*"])


def test_an_unreadable_shared_result_fails_closed(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        from plugin.once import once_per_run
        from plugin.runtime import get_runtime


        @pytest.fixture(scope="session")
        def measured(pytestconfig):
            shared = get_runtime(pytestconfig).run_dir / "shared"
            shared.mkdir(parents=True, exist_ok=True)
            (shared / "measurement.json").write_text("{not json")
            return once_per_run(pytestconfig, "measurement", lambda: {"score": 0.93}, timeout_s=60)
        """
    )
    pytester.makepyfile(test_once=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=6)
    result.stdout.fnmatch_lines(["*measurement.json: the shared result is unreadable*"])
