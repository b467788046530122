"""Verify staging: the zero-downtime migration playbook (runbook "Execute zero-downtime migration playbook").

The file checks (pairing, lint, timeouts) read the release's ``supabase/`` folder. The
database checks push the release's migrations into a throwaway database
``icupa_playbook_<random>`` on the target's PostgreSQL cluster, never into the environment's
own database, and drop it at the end of the session. Settings and the reasons for the
tooling: ``checks/migration_playbook.py``; the lint's rules: ``checks/migration_lint.py``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator

import pytest

from checks import migration_lint
from checks.migration_playbook import (
    PlaybookError,
    PlaybookSettings,
    ScratchDatabase,
    ScratchServer,
    dump_schema,
    load_settings,
    migration_files,
    pairing_problems,
    push_migrations,
    query,
    rollback_path,
    run_sql_file,
)
from checks.platform import Platform
from plugin.settings import Settings

PLAYBOOK = "verify_staging.checks.zero_downtime_migration_playbook"
TIMEOUT_RULES = frozenset({"lock-timeout-not-set", "statement-timeout-not-set"})
ScratchFactory = Callable[[], ScratchDatabase]


@pytest.fixture(scope="session")
def playbook(release_settings: Settings) -> PlaybookSettings:
    try:
        return load_settings(release_settings)
    except PlaybookError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def scratch_databases(platform: Platform, playbook: PlaybookSettings) -> Iterator[ScratchFactory]:
    """Makes throwaway databases on the target's cluster; its teardown drops every one."""
    if playbook.scratch_dsn_env is None:
        admin_dsn = platform.dsn  # the sandbox: its superuser on the environment's own server
    else:
        admin_dsn = os.environ.get(playbook.scratch_dsn_env, "")
        if not admin_dsn:
            pytest.fail(
                f"{playbook.scratch_dsn_env} is not set: the playbook needs the DSN of a role allowed to "
                f"CREATE DATABASE on the {platform.env} cluster (it never writes to the {platform.env} database)",
                pytrace=False,
            )
    try:
        server = ScratchServer(admin_dsn)
    except PlaybookError as exc:
        pytest.fail(f"{playbook.scratch_dsn_env or 'the sandbox DSN'}: {exc}", pytrace=False)

    def create() -> ScratchDatabase:
        try:
            return server.create()
        except PlaybookError as exc:
            pytest.fail(str(exc), pytrace=False)

    yield create
    problems = server.close()
    assert not problems, "throwaway databases left behind: " + "; ".join(problems)


@pytest.fixture
def scratch(scratch_databases: ScratchFactory) -> ScratchDatabase:
    """A fresh throwaway database for one test (dropped with the others at session end)."""
    return scratch_databases()


def _push(playbook: PlaybookSettings, db: ScratchDatabase, count: int | None, release_settings: Settings) -> None:
    migrations = migration_files(playbook.migrations_dir)
    chosen = migrations if count is None else migrations[:count]
    outcome = push_migrations(playbook, db, chosen, release_settings.masker)
    assert outcome.returncode == 0, (
        f"supabase db push of {[p.name for p in chosen]} into {db.name} exited {outcome.returncode}:\n"
        + outcome.output[-3000:]
    )


def _dump(playbook: PlaybookSettings, db: ScratchDatabase, release_settings: Settings) -> str:
    try:
        return dump_schema(playbook, db, release_settings.masker)
    except PlaybookError as exc:
        pytest.fail(str(exc), pytrace=False)


def _diff(before: str, after: str, before_name: str, after_name: str) -> str:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), before_name, after_name, lineterm="", n=2)
    return "\n".join(list(lines)[:80])


# ------------------------------------------------------------------ file checks


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(PLAYBOOK)
def test_every_migration_has_its_rollback_file(playbook: PlaybookSettings) -> None:
    problems = pairing_problems(playbook)
    assert not problems, "migration / rollback pairing:\n" + "\n".join(problems)


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(PLAYBOOK)
def test_migrations_pass_the_lock_lint(playbook: PlaybookSettings) -> None:
    findings = [
        finding
        for path in migration_files(playbook.migrations_dir)
        for finding in migration_lint.blocking(migration_lint.lint_file(path))
        if finding.rule not in TIMEOUT_RULES
    ]
    assert not findings, (
        "migrations take heavy locks or rewrite tables without expand/contract "
        "(fix them, or accept a finding with '-- release-gate: accept <rule>: <reason>' above the statement):\n"
        + "\n".join(str(f) for f in findings)
    )


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(PLAYBOOK)
def test_every_migration_sets_both_timeouts(playbook: PlaybookSettings) -> None:
    findings = [
        finding
        for path in migration_files(playbook.migrations_dir)
        for finding in migration_lint.lint_file(path)
        if finding.rule in TIMEOUT_RULES
    ]
    assert not findings, "migrations without their timeouts:\n" + "\n".join(str(f) for f in findings)


# -------------------------------------------------------------- database checks


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(PLAYBOOK)
def test_backfill_is_idempotent_and_audited(
    playbook: PlaybookSettings, scratch: ScratchDatabase, release_settings: Settings
) -> None:
    _push(playbook, scratch, None, release_settings)
    counts_sql = (
        "select (select count(*) from public.tenants), (select count(*) from public.tenant_profiles), "
        "(select count(*) from public.tenant_migration_audit)"
    )
    try:
        first = run_sql_file(scratch, playbook.backfill_sql)
        after_first = query(scratch, counts_sql)
        second = run_sql_file(scratch, playbook.backfill_sql)
        after_second = query(scratch, counts_sql)
        ((backfill_audits, audited_tenants, duplicates, unaudited, orphans),) = query(
            scratch,
            """
            select
              (select count(*) from public.tenant_migration_audit
                 where migration = 'backfill_tenant_profiles' and action = 'backfill'),
              (select count(distinct tenant_id) from public.tenant_migration_audit
                 where migration = 'backfill_tenant_profiles' and action = 'backfill'),
              (select count(*) from (select tenant_id from public.tenant_migration_audit
                 where action = 'backfill' group by tenant_id having count(*) > 1) d),
              (select count(*) from public.tenant_profiles p where p.settings->>'source' = 'backfill'
                 and not exists (select 1 from public.tenant_migration_audit a
                                 where a.tenant_id = p.tenant_id and a.action = 'backfill')),
              (select count(*) from public.tenant_migration_audit a where a.action = 'backfill'
                 and not exists (select 1 from public.tenant_profiles p where p.tenant_id = a.tenant_id))
            """,
        )
    except PlaybookError as exc:
        pytest.fail(str(exc), pytrace=False)
    assert len(first) == 1, f"{playbook.backfill_sql}: expected one summary row, got {first}"
    tenants, profiles_before, backfilled, audit_written = first[0]
    ((tenants_after, profiles_after, audit_after),) = after_first
    assert after_second == after_first, (
        f"{playbook.backfill_sql} is not idempotent: (tenants, profiles, audit rows) were {after_first[0]} "
        f"after the first run and {after_second[0]} after the second"
    )
    assert second == [(tenants, tenants, 0, 0)], f"the second run still changed something: {second}"
    assert backfilled == audit_written, f"first run: {backfilled} profiles backfilled but {audit_written} audit rows"
    assert profiles_before + backfilled == tenants == tenants_after == profiles_after, (
        f"{tenants_after} tenants but {profiles_after} profiles after the backfill"
    )
    assert backfill_audits == audited_tenants == backfilled, (
        f"tenant_migration_audit has {backfill_audits} backfill rows for {audited_tenants} tenants; "
        f"the backfill inserted {backfilled} profiles"
    )
    assert (duplicates, unaudited, orphans) == (0, 0, 0), (
        f"tenant_migration_audit: {duplicates} tenants audited twice, {unaudited} backfilled profiles "
        f"without an audit row, {orphans} audit rows without a profile"
    )
    assert audit_after >= audit_written


@pytest.mark.phase("verify_staging", "checks")
@pytest.mark.checklist(PLAYBOOK)
def test_rollback_restores_the_previous_schema(
    playbook: PlaybookSettings, scratch: ScratchDatabase, release_settings: Settings
) -> None:
    migrations = migration_files(playbook.migrations_dir)
    assert migrations, f"{playbook.migrations_dir}: no migrations"
    newest = migrations[-1]
    rollback = rollback_path(playbook, newest)
    assert rollback.is_file(), f"{newest}: no rollback file {rollback}"

    _push(playbook, scratch, len(migrations) - 1, release_settings)
    previous = _dump(playbook, scratch, release_settings)
    _push(playbook, scratch, None, release_settings)
    released = _dump(playbook, scratch, release_settings)
    try:
        run_sql_file(scratch, rollback)
    except PlaybookError as exc:
        pytest.fail(str(exc), pytrace=False)
    rolled_back = _dump(playbook, scratch, release_settings)
    assert rolled_back == previous, f"{rollback} does not restore the schema before {newest.name}:\n" + _diff(
        previous, rolled_back, f"before {newest.name}", f"after {rollback.name}"
    )
    # The rollback also un-records the migration, so the next push applies it again, identically.
    _push(playbook, scratch, None, release_settings)
    again = _dump(playbook, scratch, release_settings)
    assert again == released, f"pushing {newest.name} again after {rollback.name} gives another schema:\n" + _diff(
        released, again, "first push", "push after the rollback"
    )
