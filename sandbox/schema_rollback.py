"""Undo the schema change of the last release push: its paired ``_rollback.sql``, newest first.

    python -m sandbox.schema_rollback --env staging --run-dir <gate run folder>

Which migrations belong to the release: the release gate's most recent push to this
environment that really ran (``db_push`` on staging, ``prod_db_push`` on production; this
run's ledger first, then earlier runs next to it, newest first) names them in its log
(``Applying migration <version>_<name>.sql`` from ``supabase db push``).
Those still recorded in ``supabase_migrations.schema_migrations`` are the release's schema
change; when there are none (the push applied nothing, or it was rolled back already) the
release did not change the schema and nothing is done.

Each migration ``migrations/V_NAME.sql`` is undone by ``rollbacks/V_NAME_rollback.sql`` of
the workspace's Supabase folder, applied newest first in-process with psycopg (each file
carries its own ``begin; ... commit;``), on the environment's database. The DSN is never
printed. A missing rollback file stops before anything is applied.

The last stdout line is one JSON summary (``command``, ``ok``, ``release_migrations``,
``rolled_back``, ``remaining``). Exit codes: 0 ok, 1 failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import psycopg

from sandbox.layout import SandboxUsageError, parse_env
from sandbox.platform import Report, Sandbox
from sandbox.state import SandboxError

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
CONNECT_TIMEOUT_S: Final = 5
PUSH_ACTIONS: Final = frozenset({"db_push", "prod_db_push"})
APPLYING: Final = re.compile(r"Applying migration (\d{14})_([A-Za-z0-9_]+)\.sql")


def _ledger_records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return records
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            record = json.loads(raw)
        except ValueError:
            raise SandboxError(f"{path}:{number}: not a ledger record; cannot tell what the release pushed") from None
        if isinstance(record, dict):
            records.append(record)
    return records


def last_push_log(run_dir: Path, env: str) -> tuple[Path, str] | None:
    """The log of the most recent push to ``env`` that ran, with the run it ran in."""
    runs = [run_dir, *sorted((p for p in run_dir.parent.iterdir() if p != run_dir and p.is_dir()), reverse=True)]
    for run in runs:
        pushes = [
            r
            for r in _ledger_records(run / "ledger.jsonl")
            if r.get("kind") == "action"
            and r.get("action") in PUSH_ACTIONS
            and r.get("env") == env
            and r.get("executed")
        ]
        if pushes:
            log = pushes[-1].get("log")
            if not isinstance(log, str) or not Path(log).is_file():
                raise SandboxError(
                    f"the {pushes[-1]['action']} of run {run.name} left no log ({log}): cannot tell what it pushed"
                )
            return Path(log), run.name
    return None


def pushed_migrations(log: Path) -> list[str]:
    """``V_NAME`` of every migration the push's log says it applied, in order."""
    text = log.read_text(encoding="utf-8", errors="replace")
    found: list[str] = []
    for version, name in APPLYING.findall(text):
        key = f"{version}_{name}"
        if key not in found:
            found.append(key)
    return found


def _applied_versions(conn: psycopg.Connection[Any]) -> set[str]:
    exists = conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()
    if exists is None or exists[0] is None:
        return set()
    return {str(row[0]) for row in conn.execute("select version from supabase_migrations.schema_migrations")}


def rollback_schema(sandbox: Sandbox, run_dir: Path) -> Report:
    began = time.monotonic()
    report = Report("schema_rollback", sandbox.env)
    report.data.update({"release_migrations": [], "rolled_back": [], "remaining": []})
    rollbacks_dir = sandbox.config.workspace.supabase_dir / "rollbacks"
    try:
        found = last_push_log(run_dir, sandbox.env) if run_dir.is_dir() else None
        if found is None:
            report.messages.append(
                f"no push to {sandbox.env} ran in this or an earlier gate run: the release did not change the "
                "schema here; nothing to roll back"
            )
            return _done(report, began)
        log, run_name = found
        report.data["push_run"] = run_name
        pushed = pushed_migrations(log)
        with psycopg.connect(sandbox.dsn(), connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            applied = _applied_versions(conn)
            release = [key for key in pushed if key.split("_", 1)[0] in applied]
            report.data["release_migrations"] = release
            if not release:
                report.messages.append(
                    f"the release did not change the schema (the db_push of run {run_name} applied "
                    f"{len(pushed)} migration(s), none still applied); nothing to roll back"
                )
                return _done(report, began)
            newest_first = sorted(release, reverse=True)
            files = [rollbacks_dir / f"{key}_rollback.sql" for key in newest_first]
            missing = [str(path) for path in files if not path.is_file()]
            if missing:
                raise SandboxError(
                    f"no paired rollback for {', '.join(missing)}: nothing was rolled back; the schema still "
                    f"has {', '.join(newest_first)}"
                )
            for key, path in zip(newest_first, files, strict=True):
                t0 = time.monotonic()
                try:
                    conn.execute(path.read_text(encoding="utf-8"))
                except psycopg.Error as exc:
                    done = report.data["rolled_back"]
                    left = [k for k in newest_first if k not in done]
                    raise SandboxError(
                        f"{path.name} failed ({type(exc).__name__}: {str(exc).strip().splitlines()[0]}); "
                        f"rolled back so far: {', '.join(done) or 'none'}; still applied: {', '.join(left)}"
                    ) from None
                report.data["rolled_back"].append(key)
                report.messages.append(f"applied {path.name} in {time.monotonic() - t0:.2f}s")
            still = sorted(_applied_versions(conn) & {key.split("_", 1)[0] for key in release})
            report.data["remaining"] = still
            if still:
                raise SandboxError(f"the rollbacks ran but schema_migrations still records {', '.join(still)}")
            report.messages.append(f"schema rolled back: {', '.join(newest_first)} undone, newest first")
    except (SandboxError, OSError) as exc:
        report.ok = False
        report.messages.append(str(exc))
    except psycopg.Error as exc:
        report.ok = False
        report.messages.append(f"database error ({type(exc).__name__}); nothing more was applied")
    return _done(report, began)


def _done(report: Report, began: float) -> Report:
    report.seconds = time.monotonic() - began
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.schema_rollback", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="staging")
    parser.add_argument("--run-dir", required=True, type=Path, help="the release gate's run folder")
    args = parser.parse_args(argv)
    try:
        report = rollback_schema(Sandbox.for_env(parse_env(args.env)), args.run_dir)
    except SandboxUsageError as exc:
        print(f"python -m sandbox.schema_rollback: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SandboxError as exc:
        print(f"sandbox.schema_rollback: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for message in report.messages:
        print(message, file=sys.stderr)
    print(json.dumps(report.summary(), default=str), flush=True)
    return EXIT_OK if report.ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
