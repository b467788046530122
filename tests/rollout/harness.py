"""An isolated sandbox production environment with the release deployed, and the gate run on it.

The port base is taken from 23000-23900 (production adds 100); the gate's records (rollback
log, release ticket, snapshots, archives, incidents) go to the sandbox's own folder through
a copy of ``release.toml``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sandbox.layout import PRODUCTION_PORT_SHIFT
from tests.sandbox.harness import _range_is_free

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 600
PREVIOUS = "v0.0.9"
RELEASE = (REPO / "sandbox" / "VERSION").read_text(encoding="utf-8").strip()
ALL_TENANTS = (
    "icupa-hq,icupa-qa,kigali-bistro,lakeside-grill,mountain-cafe,harbor-tacos,city-noodles,"
    "sunset-diner,green-bowl,urban-pizza,river-sushi,central-bakery"
)


def port_base() -> int:
    """A free base in 23000-23900 whose production range (base + 100) is free too."""
    start = 23000 + (os.getpid() % 9) * 100
    for offset in range(0, 900, 20):
        base = 23000 + (start - 23000 + offset) % 900
        if _range_is_free(base + PRODUCTION_PORT_SHIFT) and _range_is_free(base):
            return base
    raise RuntimeError("no free port range in 23000-23900")


def set_table_keys(text: str, table: str, values: Mapping[str, str]) -> str:
    """``text`` with ``key = value`` lines of ``[table]`` replaced (values are TOML literals)."""
    header = f"[{table}]\n"
    assert text.count(header) == 1, table
    head, tail = text.split(header)
    body, sep, rest = tail.partition("\n[")
    for key, value in values.items():
        body, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", body, count=1, flags=re.MULTILINE)
        if count == 0:
            body = body.rstrip("\n") + f"\n{key} = {value}\n"
    return head + header + body + sep + rest


@dataclass
class Production:
    state_dir: Path
    environ: dict[str, str]
    config: Path

    @property
    def records(self) -> Path:
        return self.state_dir / "records"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )

    def sandbox(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self.run("-m", "sandbox", *args)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    def gate(self, *args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self.run(
            "-m",
            "pytest",
            *args,
            "-m",
            "production",
            "--release-env",
            "production",
            "-p",
            "no:cacheprovider",
            "-o",
            f"release_state_dir={self.state_dir / 'gate'}",
            "-o",
            f"release_config={config or self.config}",
        )

    def flags_off(self) -> None:
        done = self.run("-m", "sandbox.flags", "--env", "production", "disable", "ai_waiter", "--tenants", ALL_TENANTS)
        assert done.returncode == 0, done.stderr[-2000:]

    def last_ledger(self) -> list[dict[str, object]]:
        run_dir = max((self.state_dir / "gate" / "runs").iterdir())
        lines = (run_dir / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def write_config(self, path: Path, edit: Mapping[str, Mapping[str, str]] | None = None) -> Path:
        text = make_config(self.records, own_artifacts=True)
        for table, values in (edit or {}).items():
            text = set_table_keys(text, table, values)
        path.write_text(text, encoding="utf-8")
        return path


def make_config(records: Path, *, own_artifacts: bool = False) -> str:
    """The repository's release.toml with the sandbox's records redirected to ``records``.

    With ``own_artifacts`` the post-release archives read Lighthouse and coverage artifacts
    from ``records`` too (see :func:`write_release_artifacts`), for a run that did not make
    them itself: a clean checkout has no ``artifacts/`` folder."""
    text = (REPO / "release.toml").read_text(encoding="utf-8")
    text = set_table_keys(
        text,
        "targets.sandbox.checks.rollback",
        {"log": f'"{records}/rollback-log.md"', "incidents_dir": f'"{records}/incidents"'},
    )
    text = set_table_keys(
        text,
        "targets.sandbox.checks.rollout",
        {"ticket": f'"{records}/ticket-{{version}}.md"', "snapshot_dir": f'"{records}/observability"'},
    )
    return set_table_keys(
        text,
        "targets.sandbox.checks.post_release",
        {
            "archive_dir": f'"{records}/archive/{{version}}"',
            "outcomes": f'"{records}/outcomes-{{version}}.md"',
            "retro_dir": f'"{records}/retro"',
            **(
                {"lighthouse_dir": f'"{records}/lighthouse"', "coverage_dir": f'"{records}/coverage"'}
                if own_artifacts
                else {}
            ),
        },
    )


def write_release_artifacts(records: Path) -> None:
    """What the staging release leaves for the post-release archives: a Lighthouse run and its
    index (``lighthouse/test_lighthouse.py`` writes ``index.json``) and coverage reports."""
    lighthouse = records / "lighthouse" / "127.0.0.1_web"
    lighthouse.mkdir(parents=True)
    report = lighthouse / "run-1.report.json"
    report.write_text('{"audits": {}}\n', encoding="utf-8")
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    entry = {"path": "127.0.0.1_web/run-1.report.json", "sha256": digest}
    index = {"version": RELEASE, "run_id": "staging-run", "runs": ["127.0.0.1_web run #1"], "files": [entry]}
    (records / "lighthouse" / "index.json").write_text(json.dumps(index) + "\n", encoding="utf-8")
    coverage = records / "coverage" / "agents-service"
    coverage.mkdir(parents=True)
    (coverage / "cobertura-coverage.xml").write_text('<coverage line-rate="0.9"/>\n', encoding="utf-8")


@contextmanager
def deployed_production(prefix: str) -> Iterator[Production]:
    """A sandbox production environment serving the release over the previous one."""
    # Not pytest's tmp_path: its parents are 0700, and PostgreSQL runs as another user.
    state_dir = Path(tempfile.mkdtemp(prefix=prefix))
    state_dir.chmod(0o755)
    environ = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(state_dir),
        "SANDBOX_PORT_BASE": str(port_base()),
        "PYTHONPATH": str(REPO),
    }
    made = Production(state_dir, environ, state_dir / "release.toml")
    made.records.mkdir()
    write_release_artifacts(made.records)
    made.write_config(made.config)
    try:
        made.sandbox("up", "--env", "production")
        made.sandbox("baseline", "--env", "production", "--version", PREVIOUS)
        made.sandbox("deploy", "migrations", "--env", "production")
        made.sandbox("deploy", "functions", "--env", "production", "--version", RELEASE, "--verify-jwt")
        made.sandbox("deploy", "agents", "--env", "production", "--version", RELEASE)
        made.sandbox("deploy", "web", "--env", "production", "--version", RELEASE)
        yield made
    finally:
        made.run("-m", "sandbox", "down", "--env", "production")
        shutil.rmtree(state_dir, ignore_errors=True)
