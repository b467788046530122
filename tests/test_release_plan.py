"""The project's own staging plan: the sandbox and the real platform's runbook commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from plugin.actions import ActionSpec, _refusal
from plugin.gate import Closure, GateState
from plugin.phases import resolve_unit

REPO = Path(__file__).resolve().parents[1]


def _plan(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--release-plan", "-m", "staging", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_icupa_plan_shows_the_runbook_commands_with_secrets_masked() -> None:
    env = {
        **os.environ,
        "ICUPA_REPO_DIR": "/srv/icupa",
        "ICUPA_RELEASE_SHA": "0123abc",
        "ICUPA_REGISTRY": "registry.example.test/icupa",
        "ICUPA_STAGING_PROJECT_REF": "stagingref",
        "VERCEL_TOKEN": "vercel-token-should-not-show",
    }
    done = _plan("--release-target", "icupa", env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    out = done.stdout
    for line in (
        "$ supabase link --project-ref stagingref",
        "$ supabase db push",
        "$ supabase db test",
        "$ supabase db remote commit --file supabase/seed/backfill_tenant_profiles.sql",
        "$ ./scripts/supabase/deploy-functions.sh --project stagingref",
        "$ pnpm --dir agents-service build",
        "$ docker build -t icupa-agents:0123abc agents-service",
        "$ docker push registry.example.test/icupa/icupa-agents:0123abc",
        "$ kubectl apply -f deployments/staging/agents-service.yaml",
        "$ pnpm --filter web build",
        "$ vercel deploy --prebuilt --env=staging --token '***'",
    ):
        assert line in out, f"missing from the plan: {line}"
    assert "vercel-token-should-not-show" not in out


def test_sandbox_plan_deploys_through_the_sandbox() -> None:
    done = _plan(env=dict(os.environ))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "-m sandbox deploy migrations --env staging" in done.stdout
    assert "-m sandbox deploy agents --env staging --version v" in done.stdout
    assert "RELEASE GATE" not in done.stdout  # a plan judges nothing


@pytest.mark.parametrize("closed_unit", ["deploy_staging/migrations", "validate/pipeline"])
def test_an_action_is_refused_once_the_gate_closed(closed_unit: str) -> None:
    unit = resolve_unit("deploy_staging", "functions")
    runtime = SimpleNamespace(
        current_unit=unit,
        is_worker=False,
        rollback_selected=False,
        state=GateState(closed_by=Closure(closed_unit, "checks/x.py::test_x", "failed")),
    )
    spec = ActionSpec(name="functions_deploy", unit=unit)
    reason = _refusal(runtime, spec)  # type: ignore[arg-type]  # a stand-in with the fields _refusal reads
    assert reason is not None
    assert reason.startswith(f"refused: release gate closed: blocking failure in {closed_unit}")


def test_a_wrong_key_in_a_suite_section_is_a_usage_error(tmp_path: Path) -> None:
    text = (REPO / "release.toml").read_text()
    bad = tmp_path / "release.toml"
    bad.write_text(
        text.replace("[targets.sandbox.checks.coverage]", '[targets.sandbox.checks.coverage]\nfigur = "x"', 1)
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            f"release_config={bad}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert "targets.sandbox.checks.coverage.figur: Extra inputs are not permitted" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
