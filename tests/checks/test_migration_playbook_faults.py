"""Bad migrations make ``checks/test_verify_staging.py`` fail, each naming file, line and rule.

Each case runs the gate's own test module in a child pytest against a copy of the
sandbox's ``supabase/`` folder with one fault planted (its own ``release.toml`` and state
folder, so the project's state is not touched), under a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SUPABASE = REPO_ROOT / "sandbox" / "workspace" / "supabase"
CHILD_TIMEOUT_S = 180

SANDBOX_SUPABASE_SETTING = 'supabase_dir = "{root}/sandbox/workspace/supabase"'


def _config(supabase: Path) -> str:
    """The project's release.toml with the sandbox's playbook pointed at ``supabase``."""
    text = (REPO_ROOT / "release.toml").read_text(encoding="utf-8")
    assert text.count(SANDBOX_SUPABASE_SETTING) == 1, "release.toml: the sandbox's checks.migrations table moved"
    return text.replace(SANDBOX_SUPABASE_SETTING, f'supabase_dir = "{supabase}"')


LOCK_HEAVY = """-- a release that makes tenants.name NOT NULL and renames a column in one go
set local lock_timeout = '3s';
set local statement_timeout = '30s';

alter table public.tenants
  alter column name set not null;

-- release-gate: accept rename-column:
alter table public.tenants rename column tier to rollout_tier;
"""


def _copy_supabase(tmp: Path) -> Path:
    target = tmp / "supabase"
    for folder in ("migrations", "rollbacks", "seed"):
        shutil.copytree(SUPABASE / folder, target / folder)
    return target


def _child(tmp: Path, supabase: Path, selection: str) -> tuple[int, str]:
    config = tmp / "release.toml"
    config.write_text(_config(supabase), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "checks/test_verify_staging.py",
            "-k",
            selection,
            "--release-env",
            "staging",
            "-p",
            "no:cacheprovider",
            "-o",
            f"release_config={config}",
            "-o",
            f"release_state_dir={tmp / 'gate'}",
        ],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_sandbox_migrations_pass_the_file_checks(tmp_path: Path) -> None:
    code, output = _child(tmp_path, _copy_supabase(tmp_path), "rollback_file or lock_lint or timeouts")
    assert code == 0, output[-4000:]
    assert "3 passed" in output


def test_a_migration_without_its_rollback_fails_naming_both_files(tmp_path: Path) -> None:
    supabase = _copy_supabase(tmp_path)
    newest = sorted((supabase / "migrations").glob("*.sql"))[-1]
    rollback = supabase / "rollbacks" / f"{newest.stem}_rollback.sql"
    rollback.unlink()
    code, output = _child(tmp_path, supabase, "rollback_file")
    assert code == 1, output[-4000:]
    assert f"{newest}: no rollback file {rollback}" in output, output[-4000:]
    assert "RELEASE GATE: BLOCKED at verify_staging/checks" in output
    assert "Traceback" not in output


def test_a_lock_heavy_migration_fails_naming_file_line_and_rule(tmp_path: Path) -> None:
    supabase = _copy_supabase(tmp_path)
    migration = supabase / "migrations" / "20251201090000_lock_heavy.sql"
    migration.write_text(LOCK_HEAVY, encoding="utf-8")
    (supabase / "rollbacks" / "20251201090000_lock_heavy_rollback.sql").write_text("select 1;\n", encoding="utf-8")
    code, output = _child(tmp_path, supabase, "lock_lint")
    assert code == 1, output[-4000:]
    assert f"{migration}:5: [set-not-null]" in output, output[-4000:]
    # An acceptance without a reason does not count, and is reported itself.
    assert f"{migration}:9: [rename-column]" in output, output[-4000:]
    assert f"{migration}:8: [invalid-acceptance] acceptance of rename-column without a reason" in output
    assert "RELEASE GATE: BLOCKED at verify_staging/checks" in output
    assert "Traceback" not in output
