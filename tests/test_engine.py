"""End-to-end runs of the engine without xdist: ordering, usage errors, gating, plan, verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
id = "validate.local.lint"
phase = "validate"
step = "pipeline"
environments = ["local", "staging"]
section = "Build & Test Pipeline / Local Validation"
text = "pnpm lint"

[[item]]
id = "deploy_staging.migrations.push"
phase = "deploy_staging"
step = "migrations"
environments = ["staging"]
section = "Staging Deployment / A"
text = "supabase db push"
"""


def _write_checklist(pytester: pytest.Pytester, text: str = CHECKLIST) -> None:
    (pytester.path / "checks").mkdir(exist_ok=True)
    (pytester.path / "checks" / "runbook.toml").write_text(text)


def test_tests_run_in_phase_and_step_order(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_order="""
        import pytest

        @pytest.mark.phase("post_release", "records")
        def test_records(): pass

        @pytest.mark.phase("deploy_staging", "web")
        def test_web(): pass

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_migrations(): pass

        @pytest.mark.phase("pre_release", "review")
        def test_review_b(): pass

        @pytest.mark.phase("pre_release", "review")
        def test_review_a(): pass

        @pytest.mark.phase("validate", "install")
        def test_install(): pass
        """
    )
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "*test_review_b PASSED*",
            "*test_review_a PASSED*",
            "*test_install PASSED*",
            "*test_migrations PASSED*",
            "*test_web PASSED*",
            "*test_records PASSED*",
            "*RELEASE GATE: PASSED*",
        ]
    )


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ('phase("nope")', "*unknown phase 'nope'; valid phases in order:*"),
        (
            'phase("deploy_staging", "bogus")',
            "*unknown step 'bogus' for phase 'deploy_staging'; valid steps: migrations, functions, agents, web*",
        ),
        ('phase("deploy_staging")', "*phase 'deploy_staging' has steps, so a step is required*"),
        ("phase()", "*bad @pytest.mark.phase(...)*"),
        ('phase("pre_release", "review", "extra")', "*bad @pytest.mark.phase(...)*"),
    ],
)
def test_bad_phase_is_a_usage_error(pytester: pytest.Pytester, marker: str, expected: str) -> None:
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.{marker}
        def test_x(): pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_gate_test_without_phase_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mixed="""
        import pytest

        @pytest.mark.phase("pre_release", "review")
        def test_gate(): pass

        def test_forgot(): pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*gate tests need @pytest.mark.phase*",
            "*test_mixed.py::test_forgot*",
            "*valid phases in order: pre_release, validate*",
        ]
    )


def test_suite_folders_require_phase_even_alone(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nrelease_suites = checks\n")
    (pytester.path / "checks").mkdir()
    (pytester.path / "checks" / "test_x.py").write_text("def test_no_phase(): pass\n")
    result = pytester.runpytest("checks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*checks/test_x.py::test_no_phase*"])


def test_unknown_checklist_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _write_checklist(pytester)
    pytester.makepyfile(
        test_ids="""
        import pytest

        @pytest.mark.phase("pre_release", "review")
        @pytest.mark.checklist("pre_release.changelgo")
        def test_x(): pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown checklist id 'pre_release.changelgo'*did you mean pre_release.changelog?*"])


def test_checklist_item_of_another_phase_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _write_checklist(pytester)
    pytester.makepyfile(
        test_ids="""
        import pytest

        @pytest.mark.phase("validate", "pipeline")
        @pytest.mark.checklist("pre_release.changelog")
        def test_x(): pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*belongs to 'pre_release/review', but the test is in 'validate/pipeline'*"])


def test_blocking_failure_skips_later_units_without_their_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import pytest

        SET_UP = []

        @pytest.fixture
        def deploy_fixture():
            SET_UP.append("deploy")
            yield

        @pytest.mark.phase("validate", "pipeline")
        def test_lint(): assert False, "lint failed"

        @pytest.mark.phase("validate", "pipeline")
        def test_same_unit_still_runs(): pass

        @pytest.mark.phase("deploy_staging", "migrations")
        def test_deploy(deploy_fixture): pass

        @pytest.mark.phase("post_release", "records")
        def test_zzz_no_fixture_ran():
            assert SET_UP == []
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*RELEASE GATE: BLOCKED at validate/pipeline (failed: test_gate.py::test_lint)*",
            "*SKIPPED ?2?*release gate closed: blocking failure in validate/pipeline"
            " (failed: test_gate.py::test_lint)*",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_setup_error_closes_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import pytest

        @pytest.fixture
        def broken():
            raise RuntimeError("cannot reach staging")

        @pytest.mark.phase("validate", "install")
        def test_install(broken): pass

        @pytest.mark.phase("validate", "pipeline")
        def test_next(): pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1, skipped=1)
    result.stdout.fnmatch_lines(["*RELEASE GATE: BLOCKED at validate/install (error: test_gate.py::test_install)*"])


def test_advisory_failure_blocks_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import pytest

        @pytest.mark.phase("pre_release", "review")
        @pytest.mark.advisory(reason="perf review is informative")
        def test_perf(): assert False

        @pytest.mark.phase("validate", "install")
        def test_install(): pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["pre_release * 0 * 0 * 0 * 0 * 1 *", "*RELEASE GATE: PASSED*"])
    assert result.ret == pytest.ExitCode.OK


def test_expected_failure_is_not_blocking(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gate="""
        import pytest

        @pytest.mark.phase("pre_release", "review")
        @pytest.mark.xfail(reason="known")
        def test_known(): assert False

        @pytest.mark.phase("validate", "install")
        def test_install(): pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(["*RELEASE GATE: PASSED*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_uncovered_checklist_items_block_the_selected_environment(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    _write_checklist(pytester)
    pytester.makepyfile(
        test_gate="""
        import pytest

        @pytest.mark.phase("validate", "pipeline")
        @pytest.mark.checklist("validate.local.lint")
        def test_lint(): pass
        """
    )
    local = pytester.runpytest("-m", "local")
    local.assert_outcomes(passed=1)
    local.stdout.fnmatch_lines(["*RELEASE GATE: PASSED*"])
    staging = pytester.runpytest_subprocess("-m", "staging", *workers)
    staging.assert_outcomes(passed=1)
    staging.stdout.fnmatch_lines(
        [
            "*checklist items without a test (2):*",
            "*pre_release.changelog ?pre_release/review? Update CHANGELOG.md with release notes*",
            "*deploy_staging.migrations.push*",
            "*RELEASE GATE: BLOCKED at pre_release/review (checklist incomplete: 2 items without a test)*",
        ]
    )
    assert staging.ret == pytest.ExitCode.TESTS_FAILED


def test_production_must_be_named(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_x="import pytest\n@pytest.mark.phase('rollout', 'internal')\n@pytest.mark.production\ndef test_x(): pass\n"
    )
    result = pytester.runpytest("-m", "production")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*production is never implied: name it with --release-env production*"])
    named = pytester.runpytest("-m", "production", "--release-env", "production")
    named.assert_outcomes(passed=1)


def test_bad_release_version_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="import pytest\n@pytest.mark.phase('pre_release', 'review')\ndef test_x(): pass\n")
    result = pytester.runpytest("--release-version", "1.2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad release version '1.2' (from --release-version): expected vX.Y.Z*"])


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[targets.sandbox\n", "*release.toml: not valid TOML*"),
        ("[targets.sandbox]\nauto_rollbak = true\n", "*targets.sandbox.auto_rollbak: Extra inputs are not permitted*"),
        ("[targets.sandbox.actions.x]\nargv = 'echo hi'\n", "*targets.sandbox.actions.x.argv*"),
        (
            "[targets.sandbox.thresholds]\ncoverage_min_percent = 180\n",
            "*targets.sandbox.thresholds.coverage_min_percent*",
        ),
    ],
)
def test_malformed_release_toml_is_a_usage_error(pytester: pytest.Pytester, toml: str, expected: str) -> None:
    pytester.makefile(".toml", release=toml)
    pytester.makepyfile(test_x="import pytest\n@pytest.mark.phase('pre_release', 'review')\ndef test_x(): pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])
    assert "Traceback" not in result.stderr.str()


def test_unknown_target_lists_the_defined_ones(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", release="[targets.sandbox]\n[targets.icupa]\n")
    pytester.makepyfile(test_x="import pytest\n@pytest.mark.phase('pre_release', 'review')\ndef test_x(): pass\n")
    result = pytester.runpytest("--release-target", "prod")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown release target 'prod' (from --release-target)*defines: icupa, sandbox*"])


PLAN_PROJECT_TOML = """
[targets.sandbox]
[targets.sandbox.actions.db_push]
argv = ["{python}", "-c", "raise SystemExit(9)"]
[targets.real]
secrets = ["DEPLOY_TOKEN"]
[targets.real.vars]
ref = "${REAL_PROJECT_REF}"
[targets.real.actions.db_push]
commands = [["supabase", "link", "--project-ref", "{ref}"], ["supabase", "db", "push", "--token", "${DEPLOY_TOKEN}"]]
timeout_s = 900
"""


def test_plan_prints_units_tests_and_argv_and_runs_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", "tok-very-secret")
    monkeypatch.delenv("REAL_PROJECT_REF", raising=False)
    pytester.makefile(".toml", release=PLAN_PROJECT_TOML)
    pytester.makeconftest(
        "from plugin import release_action\n"
        "db_push = release_action('db_push', phase='deploy_staging', step='migrations')\n"
    )
    pytester.makepyfile(
        test_plan="""
        import pytest

        @pytest.mark.phase("deploy_staging", "migrations")
        @pytest.mark.staging
        def test_push(db_push):
            raise AssertionError("a plan must not run tests")

        @pytest.mark.phase("pre_release", "review")
        @pytest.mark.staging
        def test_review():
            raise AssertionError("a plan must not run tests")
        """
    )
    result = pytester.runpytest_subprocess("--release-plan", "-m", "staging", "--release-target", "real", "-n", "2")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*release plan: target real, environment staging*nothing runs*",
            "* 1. pre_release/review: 1 tests*",
            "*test_plan.py::test_review*",
            "* 2. deploy_staging/migrations: 1 tests*",
            "*action db_push (mutating, timeout 900s, in .):*",
            "*$ supabase link --project-ref '<unset:REAL_PROJECT_REF>'*",
            "*$ supabase db push --token '***'*",
            "*test_plan.py::test_push*",
            "*plan: 2 tests in 2 units, 1 actions*",
        ]
    )
    assert "tok-very-secret" not in result.stdout.str()
    assert not (pytester.path / ".release-gate").exists() or not list(
        (pytester.path / ".release-gate").rglob("ledger.jsonl")
    )


def test_actions_without_a_target_are_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "from plugin import release_action\n"
        "db_push = release_action('db_push', phase='deploy_staging', step='migrations')\n"
    )
    pytester.makepyfile(
        test_x="import pytest\n@pytest.mark.phase('deploy_staging', 'migrations')\ndef test_x(db_push): pass\n"
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*action 'db_push' needs a target, and there is no*release.toml*"])


def test_plain_project_without_files_still_gets_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_x="""
        import pytest

        @pytest.mark.phase("validate", "install")
        def test_b(): pass

        @pytest.mark.phase("pre_release", "review")
        def test_a(): assert False
        """
    )
    result = pytester.runpytest("-v")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["*test_a FAILED*", "*test_b SKIPPED*", "*RELEASE GATE: BLOCKED at pre_release/review*"]
    )


def test_verdict_record_is_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="import pytest\n@pytest.mark.phase('pre_release', 'review')\ndef test_x(): pass\n")
    pytester.runpytest().assert_outcomes(passed=1)
    (record_path,) = (pytester.path / ".release-gate" / "runs").glob("*/verdict.json")
    record = json.loads(record_path.read_text())
    assert record["verdict"] == "RELEASE GATE: PASSED"
    assert record["tests"] == ["test_x.py::test_x"]


def test_header_shows_target_version_environment_workers_thresholds(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        release="[targets.sandbox]\nversion_file = 'VERSION'\n[targets.sandbox.thresholds]\ncanary_window_s = 20\n",
    )
    Path(pytester.path / "VERSION").write_text("v1.4.0\n")
    pytester.makepyfile(
        test_x="import pytest\n@pytest.mark.phase('pre_release', 'review')\n@pytest.mark.staging\ndef test_x(): pass\n"
    )
    result = pytester.runpytest("-m", "staging")
    result.stdout.fnmatch_lines(
        [
            "release gate: target sandbox (from release.toml), environment staging,"
            " version v1.4.0 (*VERSION), dry run no",
            "release gate: workers serial; run *",
            "release gate: thresholds coverage>=80%, error rate<=1.00%, p95<=350ms, guardrail breaches<=0.10%,"
            " payments success>=99.00%, canary window 20s*",
        ]
    )
