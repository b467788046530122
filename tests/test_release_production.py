"""The whole release on an isolated sandbox: staging, the leads' approvals, then production.

One staging release (``-m staging -n 2``) and the two approvals (the approvals CLI, the
sandbox's stand-in for the leads) are shared by the module. Then:

1. ``-m production --release-env production -n 2``: the promotion, the four rollout stages
   and the post-release duties, ending ``RELEASE GATE: PASSED``;
2. on a fresh production environment, a release whose pilot stage goes bad, run with the
   rollback selected (``-m "production or rollback"``): the gate blocks at rollout/pilot,
   triggers the rollback, and the previous release serves again everywhere.

The gate's records (rollback log, ticket, archives, snapshots) go to the sandbox's own folder
through a copy of ``release.toml`` (``tests/rollout/harness.make_config``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from sandbox import Sandbox
from sandbox.layout import REPO_ROOT
from tests.rollout.harness import make_config
from tests.sandbox.harness import SandboxHarness, isolated_sandbox

RELEASE = (REPO_ROOT / "sandbox" / "VERSION").read_text(encoding="utf-8").strip()
PREVIOUS = "v0.0.9"
RUN_TIMEOUT_S = 1800
APPROVERS = (("product_lead", "amara.uwase"), ("engineering_lead", "jean.mugabo"))
GATE = (sys.executable, "-m", "reports.gate")
APPROVE = (sys.executable, "-m", "checks.canary.approvals", "approve")
PILOT_ACTION = "[targets.sandbox.actions.rollout_pilot]\n"


@dataclass
class Released:
    box: SandboxHarness
    config: Path
    staging_stdout: str

    @property
    def records(self) -> Path:
        return self.box.state_dir / "records"

    @property
    def gate_dir(self) -> Path:
        return self.box.state_dir / "gate"

    def gate(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self.box.run_gate(
            *args, "-o", f"release_config={config or self.config}", state="gate", timeout=RUN_TIMEOUT_S
        )

    def last_ledger(self) -> list[dict[str, Any]]:
        run_dir = max((self.gate_dir / "runs").iterdir())
        return [json.loads(line) for line in (run_dir / "ledger.jsonl").read_text("utf-8").splitlines()]

    def versions(self, env: str) -> dict[str, Any]:
        status = self.box.cli("status", "--env", env, "--json")
        payload: dict[str, Any] = json.loads(status.stdout.strip().splitlines()[-1])
        return dict(payload["versions"])

    def flag_on(self) -> list[str]:
        """The tenants the release's flag is on for, in production."""
        with psycopg.connect(Sandbox.for_env("production", self.box.environ).dsn(), connect_timeout=10) as conn:
            rows = conn.execute(
                "select t.slug from public.feature_flags f join public.tenants t on t.id = f.tenant_id "
                "where f.flag = 'ai_waiter' and f.enabled order by t.slug"
            ).fetchall()
        return [row[0] for row in rows]


@pytest.fixture(scope="module")
def released() -> Iterator[Released]:
    with isolated_sandbox("icupa-whole-release-") as box:
        records = box.state_dir / "records"
        records.mkdir()
        config = box.state_dir / "release.toml"
        config.write_text(make_config(records), encoding="utf-8")
        staging = box.run_gate(
            "-m", "staging", "-n", "2", "-o", f"release_config={config}", state="gate", timeout=RUN_TIMEOUT_S
        )
        assert "RELEASE GATE: PASSED" in staging.stdout, staging.stdout[-5000:]
        record = box.state_dir / "gate" / "approvals" / f"{RELEASE}.json"
        for role, name in APPROVERS:
            approved = subprocess.run(
                [*APPROVE, "--record", str(record), "--release", RELEASE, "--role", role, "--name", name],
                cwd=REPO_ROOT,
                env=box.environ,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert approved.returncode == 0, approved.stderr
        yield Released(box, config, staging.stdout)


@pytest.mark.order(1)
def test_production_promotion_rollout_and_post_release_pass(released: Released) -> None:
    results = released.box.state_dir / "allure-production"
    done = released.gate("-m", "production", "--release-env", "production", "-n", "2", f"--alluredir={results}")
    out = done.stdout
    assert done.returncode == 0, out[-6000:]
    assert "RELEASE GATE: PASSED" in out
    gate = subprocess.run(
        [*GATE, str(results), "--env", "production", "--summary", str(released.box.state_dir / "summary.md")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert gate.returncode == 0, gate.stdout[-3000:] + gate.stderr[-2000:]
    for phase in ("deploy_production", "rollout", "post_release"):
        row = re.search(rf"^{phase}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", out, re.MULTILINE)
        assert row is not None, out[-3000:]
        passed, failed, gated, skipped = map(int, row.groups())
        assert passed > 0, row.group(0)
        assert (failed, gated, skipped) == (0, 0, 0), row.group(0)
    statuses = {r["action"]: r["status"] for r in released.last_ledger() if r.get("kind") == "action"}
    deploys = ("prod_db_push", "prod_functions_deploy", "prod_agents_deploy", "prod_web_promote")
    stages = ("rollout_internal", "rollout_pilot", "rollout_low_volume_ga", "rollout_full_ga")
    assert {name: statuses.get(name) for name in (*deploys, *stages)} == dict.fromkeys((*deploys, *stages), "ok")
    versions = released.versions("production")
    assert (versions["agents"], versions["web"], versions["functions"]) == (RELEASE, RELEASE, RELEASE)
    assert len(released.flag_on()) == 12
    log = (released.records / "rollback-log.md").read_text(encoding="utf-8")
    assert f"rollout full_ga of {RELEASE} on sandbox/production" in log
    assert "postgresql://" not in out + log


@pytest.mark.order(2)
def test_a_bad_pilot_rolls_production_back_to_the_previous_release(released: Released) -> None:
    box = released.box
    box.cli("down", "--env", "production")
    shutil.rmtree(box.state_dir / "production", ignore_errors=True)  # a fresh environment: baseline first
    bad = box.state_dir / "bad-pilot.toml"
    head, tail = released.config.read_text("utf-8").split(PILOT_ACTION)
    # The pilot's flag change exposes the release's bug: half the calls to v0.1.0 fail.
    pilot = (
        '[["{python}", "-m", "sandbox.flags", "--env", "{env}", "enable", "{rollout_flag}", "--tenants", '
        '"{rollout_pilot_tenants}", "--by", "release-gate"], ["{python}", "-m", "sandbox", "fault", "set", '
        f'"--env", "{{env}}", "error_rate=0.5", "faulty_version={RELEASE}"]]'
    )
    tail = re.sub(r"^argv = .*$", f"commands = {pilot}", tail, count=1, flags=re.MULTILINE)
    bad.write_text(head + PILOT_ACTION + tail, encoding="utf-8")
    try:
        done = released.gate("-m", "production or rollback", "--release-env", "production", config=bad)
    finally:
        box.cli("fault", "clear", "--env", "production")
    out = done.stdout
    assert done.returncode == 1, out[-6000:]
    assert "RELEASE GATE: BLOCKED at rollout/pilot" in out, out[-8000:]
    assert re.search(r"^rollback: completed \(triggered: .*\)$", out, re.MULTILINE), out[-3000:]
    rollback = re.search(r"^rollback\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s", out, re.MULTILINE)
    assert rollback is not None, out[-3000:]
    passed, failed, gated, _ = map(int, rollback.groups())
    assert passed > 0, out[-6000:]
    assert (failed, gated) == (0, 0), out[-6000:]
    statuses = {r["action"]: r["status"] for r in released.last_ledger() if r.get("kind") == "action"}
    for name in ("rollout_flags_off", "agents_redeploy_previous", "web_redeploy_previous"):
        assert statuses.get(name) == "ok", statuses
    assert "rollout_low_volume_ga" not in statuses
    assert "rollout_full_ga" not in statuses
    versions = released.versions("production")
    assert (versions["agents"], versions["web"]) == (PREVIOUS, PREVIOUS), versions
    assert released.flag_on() == []
    log = (released.records / "rollback-log.md").read_text(encoding="utf-8")
    assert "rollout/pilot" in log
