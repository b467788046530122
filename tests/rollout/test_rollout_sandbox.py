"""The rollout and post-release phases end to end on an isolated sandbox production environment.

One deploy of the release (the sandbox CLI, as deploy_production would) is shared by the
module; each gate run starts with the rollout flag off everywhere. Windows are short: a copy
of release.toml gives each stage 7 s and three samples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from sandbox import Sandbox
from tests.rollout.harness import RELEASE, Production, deployed_production

PILOT_ACTION = "[targets.sandbox.actions.rollout_pilot]\n"
FLAGS = '"{python}", "-m", "sandbox.flags", "--env", "{env}", "enable", "{rollout_flag}", "--tenants"'
SHORT = {"targets.sandbox.checks.rollout": {"window_s": "7"}}
SHORT_ANALYSIS = "\n[targets.sandbox.checks.rollout.analysis]\ninitial_delay_s = 3\nmin_conclusive_samples = 3\n"


@pytest.fixture(scope="module")
def production() -> Iterator[Production]:
    with deployed_production("icupa-rollout-test-") as made:
        yield made


def _config(production: Production, name: str, pilot_commands: str | None = None) -> Path:
    path = production.write_config(production.state_dir / name, SHORT)
    text = path.read_text(encoding="utf-8") + SHORT_ANALYSIS
    if pilot_commands is not None:
        head, tail = text.split(PILOT_ACTION)
        tail = re.sub(r"^argv = .*$", f"commands = {pilot_commands}", tail, count=1, flags=re.MULTILINE)
        text = head + PILOT_ACTION + tail
    path.write_text(text, encoding="utf-8")
    return path


def _flag_on(production: Production) -> list[str]:
    dsn = Sandbox.for_env("production", production.environ).dsn()
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute(
            "select t.slug from public.feature_flags f join public.tenants t on t.id = f.tenant_id "
            "where f.flag = 'ai_waiter' and f.enabled order by t.slug"
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.order(1)
def test_a_good_rollout_passes_every_stage_and_the_post_release_duties(production: Production) -> None:
    production.flags_off()
    done = production.gate(
        "checks/test_rollout.py", "checks/test_post_release.py", config=_config(production, "good.toml")
    )
    out = done.stdout
    assert "43 passed" in out, out[-5000:]
    assert "BLOCKED at rollout" not in out
    assert "BLOCKED at post_release" not in out
    assert "INTERNALERROR" not in out
    for stage in ("internal", "pilot", "low_volume_ga", "full_ga"):
        assert f"rollout {stage}: passed after" in out
    assert "monitor: passed after" in out
    assert len(_flag_on(production)) == 12
    records = production.records
    log = (records / "rollback-log.md").read_text(encoding="utf-8")
    assert log.count(f"rollout internal of {RELEASE} on sandbox/production") == 1
    assert f"handoff of {RELEASE} on sandbox/production" in log
    assert f"no incident recorded for {RELEASE}" in log
    ticket = (records / f"ticket-{RELEASE}.md").read_text(encoding="utf-8")
    assert "rollout full_ga of" in ticket
    assert "- to: on-call jean.mugabo owns the release window" in ticket
    for kind in ("grafana", "lighthouse", "coverage"):
        assert (records / "archive" / RELEASE / kind / "SHA256SUMS").is_file()
    events = [r for r in production.last_ledger() if r.get("event") == "flag_change"]
    assert [e["stage"] for e in events] == ["internal", "pilot", "low_volume_ga", "full_ga"]
    assert all(e["owner"] == "amara.uwase" and e["changed_at"] for e in events)
    snapshot = json.loads(next((records / "observability").glob("rollout-pilot-*.json")).read_text("utf-8"))
    assert snapshot["tenants"] == ["kigali-bistro", "lakeside-grill"]
    assert snapshot["snapshot"]["up"]["agents-service"] == ["1"]
    assert "postgresql://" not in out


@pytest.mark.order(2)
def test_a_bad_pilot_blocks_the_rollout_and_skips_the_later_stages(production: Production) -> None:
    production.flags_off()
    # The pilot's flag change breaks the release: its action also switches the error fault on.
    commands = (
        f'[[{FLAGS}, "{{rollout_pilot_tenants}}", "--by", "release-gate"], '
        '["{python}", "-m", "sandbox", "fault", "set", "--env", "{env}", "error_rate=0.5"]]'
    )
    try:
        done = production.gate("checks/test_rollout.py", config=_config(production, "bad.toml", commands))
    finally:
        production.sandbox("fault", "set", "--env", "production", "error_rate=0")
    out = done.stdout
    assert done.returncode == 1, out[-4000:]
    assert "RELEASE GATE: BLOCKED at rollout/pilot" in out
    assert "rollout pilot: error_rate failed" in out or "rollout pilot: failed after" in out
    assert "release gate closed: blocking failure in rollout/pilot" in out
    assert _flag_on(production) == ["icupa-hq", "icupa-qa", "kigali-bistro", "lakeside-grill"]
    actions = {r["action"] for r in production.last_ledger() if r.get("kind") == "action"}
    assert "rollout_low_volume_ga" not in actions
    assert "rollout_full_ga" not in actions


@pytest.mark.order(3)
def test_a_flags_cli_failing_halfway_says_which_tenants_changed(production: Production) -> None:
    production.flags_off()
    commands = (
        f'[[{FLAGS}, "kigali-bistro", "--by", "release-gate"], [{FLAGS}, "no-such-tenant", "--by", "release-gate"]]'
    )
    done = production.gate("checks/test_rollout.py", config=_config(production, "halfway.toml", commands))
    out = done.stdout
    assert done.returncode == 1, out[-4000:]
    assert "RELEASE GATE: BLOCKED at rollout/pilot" in out
    assert "rollout stage pilot is blocked: the flags CLI did not finish." in out
    assert "command 2 of 2: exited with code 3" in out
    assert "ai_waiter changed (on) for: kigali-bistro (on since" in out
    assert "ai_waiter NOT changed for: lakeside-grill (off since" in out
    assert _flag_on(production) == ["icupa-hq", "icupa-qa", "kigali-bistro"]
    log = (production.records / "rollback-log.md").read_text(encoding="utf-8")
    assert "FAILED part-way, on for 1 of 2" in log
