"""``checks/migration_lint.py``: the statement splitter and each rule, over a corpus of SQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.migration_lint import Finding, blocking, lint_file, lint_sql, main, split_statements

TIMEOUTS = "set local lock_timeout = '3s';\nset local statement_timeout = '30s';\n"
SUPABASE = Path(__file__).resolve().parents[2] / "sandbox" / "workspace" / "supabase"


def _rules(sql: str) -> list[tuple[int, str, bool]]:
    return [(f.line, f.rule, f.accepted is not None) for f in lint_sql(sql, "m.sql")]


# ------------------------------------------------------------------- splitter


def test_splitter_respects_quotes_dollar_quotes_and_comments() -> None:
    sql = (
        "select 'a;b' as x, E'it\\'s; fine' as y, \"we;ird\" from t; -- c; c\n"
        "/* block; /* nested; */ still; */ select 2;\n"
        "do $body$ begin perform 1; raise notice '$$;'; end $body$;\n"
        "create function f() returns int language sql as $$ select 1; $$;\n"
        "select $1::int, a$b$c from t2"
    )
    statements = split_statements(sql)
    assert [s.line for s in statements] == [1, 2, 3, 4, 5]
    assert statements[0].plain == "select 'a;b' as x, E'it\\'s; fine' as y, \"we;ird\" from t"
    assert statements[0].code == "select '' as x, E'' as y, \"we;ird\" from t"
    assert statements[1].code == "select 2"
    assert statements[2].code == "do $body$$body$"
    assert statements[3].code.endswith("as $$$$")
    assert statements[4].code == "select $1::int, a$b$c from t2"


def test_splitter_keeps_the_comments_above_a_statement() -> None:
    statements = split_statements("select 1; -- after one\n-- above two\n\nselect 2;")
    assert statements[1].comments == ((1, "-- after one"), (2, "-- above two"))
    assert statements[1].line == 4


@pytest.mark.parametrize("sql", ["select 'open", 'select "open', "select $$ open", "/* open", "select $x$ a $y$"])
def test_splitter_refuses_unterminated_literals(sql: str) -> None:
    with pytest.raises(ValueError, match="unterminated"):
        split_statements(sql)


def test_semicolons_and_keywords_inside_literals_never_match() -> None:
    sql = TIMEOUTS + (  # noqa: S608 - SQL text under lint, never executed
        "comment on table public.t is 'alter table x drop column y; lock table z';\n"
        "do $$ begin execute 'create index i on public.t (a)'; end $$;\n"
        "insert into public.t (note) values ('alter column a type int; set not null');\n"
    )
    assert _rules(sql) == []


# ---------------------------------------------------------------------- rules

CASES = [
    ("alter table public.t add column c uuid default gen_random_uuid();", "add-column-with-volatile-default"),
    ("alter table t add c timestamptz not null default clock_timestamp();", "add-column-with-volatile-default"),
    ("alter table t add column id2 bigserial;", "add-column-with-volatile-default"),
    ("alter table t add column d int generated always as (a * 2) stored;", "add-column-with-volatile-default"),
    ("alter table t alter column c set not null;", "set-not-null"),
    ("alter table only t alter c set not null;", "set-not-null"),
    ("alter table t alter column c type bigint;", "alter-column-type"),
    ("alter table t alter column c set data type text using c::text;", "alter-column-type"),
    ("create index t_c_idx on public.t (c);", "create-index-without-concurrently"),
    ("create unique index if not exists t_c_key on t using btree (c);", "create-index-without-concurrently"),
    ("alter table t drop column c;", "drop-column"),
    ("alter table if exists t drop c cascade;", "drop-column"),
    ("alter table t rename column c to d;", "rename-column"),
    ("alter table t rename c to d;", "rename-column"),
    ("alter table t rename to t2;", "rename-table"),
    ("alter table t add constraint t_u_fk foreign key (u) references u (id);", "add-foreign-key-without-not-valid"),
    ("alter table t add column u uuid references u (id);", "add-foreign-key-without-not-valid"),
    ("alter table t add constraint t_c_pos check (c > 0);", "add-check-without-not-valid"),
    ("lock table t in access exclusive mode;", "lock-table"),
    ("LOCK public.t;", "lock-table"),
]


@pytest.mark.parametrize(("statement", "rule"), CASES)
def test_each_rule_fires_and_can_be_accepted_with_a_reason(statement: str, rule: str) -> None:
    assert _rules(TIMEOUTS + statement) == [(3, rule, False)]
    accepted = TIMEOUTS + f"-- release-gate: accept {rule}: t is tiny and internal\n" + statement
    findings = lint_sql(accepted, "m.sql")
    assert [(f.line, f.rule, f.accepted) for f in findings] == [(4, rule, "t is tiny and internal")]
    assert blocking(findings) == []


@pytest.mark.parametrize(
    "statement",
    [
        "alter table t add column c text;",
        "alter table t add column c int not null default 0;",
        "alter table t add column c timestamptz default now();",
        "alter table t add constraint t_u_fk foreign key (u) references u (id) not valid;",
        "alter table t validate constraint t_u_fk;",
        "alter table t add constraint t_c_pos check (c > 0) not valid;",
        "alter table t alter column c drop not null;",
        "alter table t alter column c set default 1;",
        "alter table t drop constraint t_c_pos;",
        "alter table t rename constraint a to b;",
        "drop index if exists t_c_idx;",
        "update t set c = 1 where id < 1000;",
    ],
)
def test_safe_statements_pass(statement: str) -> None:
    assert _rules(TIMEOUTS + statement) == []


def test_statements_on_a_table_created_in_the_same_file_are_exempt() -> None:
    sql = TIMEOUTS + (
        'create table if not exists "Public".Fresh (id uuid primary key, c int);\n'
        'create index fresh_c_idx on "Public".fresh (c);\n'
        'alter table "Public".FRESH alter column c set not null, add column d uuid default gen_random_uuid();\n'
        "create index other_idx on public.fresh (c);\n"
    )
    # "Public" is a quoted (case-kept) schema, so public.fresh is another, existing table.
    assert _rules(sql) == [(6, "create-index-without-concurrently", False)]


def test_every_action_of_an_alter_table_is_checked() -> None:
    sql = TIMEOUTS + "alter table t\n  add column a int,\n  alter column b type text,\n  drop column c;"
    assert sorted(r for _, r, _ in _rules(sql)) == ["alter-column-type", "drop-column"]


def test_concurrently_is_fine_alone_in_its_file_and_a_finding_otherwise() -> None:
    alone = TIMEOUTS + "create index concurrently if not exists t_c_idx on t (c);"
    assert _rules(alone) == []
    shared = TIMEOUTS + "alter table t add column c int;\ncreate index concurrently t_c_idx on t (c);"
    assert _rules(shared) == [(4, "concurrently-in-transaction", False)]


# ---------------------------------------------------------------- acceptances


def test_an_acceptance_needs_a_reason_and_a_known_rule() -> None:
    sql = TIMEOUTS + (
        "-- release-gate: accept drop-column:\n"
        "alter table t drop column c;\n"
        "-- release-gate: accept no-such-rule: because\n"
        "-- release-gate: accept lock-timeout-not-set: never acceptable\n"
        "lock table t;\n"
    )
    assert _rules(sql) == [
        (3, "invalid-acceptance", False),
        (4, "drop-column", False),
        (5, "invalid-acceptance", False),
        (6, "invalid-acceptance", False),
        (7, "lock-table", False),
    ]


def test_an_acceptance_covers_only_the_statement_right_below_it() -> None:
    sql = TIMEOUTS + (
        "-- release-gate: accept drop-column: the contract step of v0.9's rename;\n"
        "-- v0.9 stopped reading the column.\n"
        "alter table t drop column c;\n"
        "alter table t drop column d;\n"
    )
    findings = lint_sql(sql, "m.sql")
    assert [(f.line, f.accepted) for f in findings] == [
        (5, "the contract step of v0.9's rename; v0.9 stopped reading the column."),
        (6, None),
    ]


def test_an_acceptance_comment_inside_a_string_is_not_an_acceptance() -> None:
    sql = TIMEOUTS + "select '\n-- release-gate: accept drop-column: no\n';\nalter table t drop column c;"
    assert _rules(sql) == [(6, "drop-column", False)]


# -------------------------------------------------------------------- timeouts


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("", ["lock-timeout-not-set", "statement-timeout-not-set"]),
        ("set lock_timeout to '3s';\n", ["statement-timeout-not-set"]),
        ("set local statement_timeout = 30000;\n", ["lock-timeout-not-set"]),
        (
            "set local lock_timeout = 0;\nset local statement_timeout = '0';\n",
            ["lock-timeout-not-set", "statement-timeout-not-set"],
        ),
        ("select set_config('lock_timeout', '3s', true);\nset statement_timeout = '1min';\n", []),
        ("set local lock_timeout = '3s';\n-- 'set statement_timeout' in a comment\n", ["statement-timeout-not-set"]),
    ],
)
def test_both_timeouts_must_be_set_before_the_first_statement(header: str, missing: list[str]) -> None:
    rules = [r for _, r, _ in _rules(header + "create table x (id int);")]
    assert rules == missing


def test_a_timeout_set_after_the_first_statement_does_not_count() -> None:
    sql = "set local lock_timeout = '3s';\nalter table t add column c int;\nset local statement_timeout = '30s';\n"
    findings = lint_sql(sql, "late.sql")
    assert [(f.line, f.rule) for f in findings] == [(2, "statement-timeout-not-set")]
    assert "late.sql:2: [statement-timeout-not-set]" in str(findings[0])


# ------------------------------------------------------------- real migrations


def test_the_sandbox_migrations_pass_with_their_accepted_finding() -> None:
    findings: list[Finding] = []
    for path in sorted((SUPABASE / "migrations").glob("*.sql")):
        findings.extend(lint_file(path))
    assert blocking(findings) == []
    assert [(Path(f.path).name, f.rule) for f in findings] == [
        ("20251115090000_release_tenant_region.sql", "create-index-without-concurrently")
    ]


def test_the_broken_migration_fault_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    path = SUPABASE / "faults" / "broken_migration.sql"
    assert main([str(path)]) == 1
    assert f"{path}:25: [create-index-without-concurrently]" in capsys.readouterr().out
