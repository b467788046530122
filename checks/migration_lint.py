"""Lint of Supabase migrations for zero-downtime deploys (the runbook's migration playbook).

Pure Python over the SQL text: :func:`split_statements` cuts a file into statements while
respecting single-quoted strings (``''`` and ``E'\\''`` escapes), quoted identifiers, dollar
quotes (``$$`` and ``$tag$``) and comments (``--`` and nested ``/* */``); each rule then looks
at the statement's *code*, where comments are dropped and the contents of strings and dollar
quotes are blanked, so a keyword inside a string or a function body never matches.

Rules (each finding names the file, the statement's first line and the rule):

``add-column-with-volatile-default``
    ``ALTER TABLE ... ADD COLUMN`` with a volatile default (``random()``, ``gen_random_uuid()``,
    ``clock_timestamp()``, ``nextval()``, ...), a ``serial`` type or a ``GENERATED ... STORED``
    column: PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock. (A constant or
    ``now()`` default is a catalog-only change since PostgreSQL 11.) Expand/contract: add the
    column without a default, backfill in batches, then set the default.
``set-not-null``
    ``ALTER COLUMN ... SET NOT NULL`` scans the table under ACCESS EXCLUSIVE. Add
    ``CHECK (col IS NOT NULL) NOT VALID``, ``VALIDATE`` it in a later migration, then set NOT NULL.
``alter-column-type``
    ``ALTER COLUMN ... [SET DATA] TYPE`` usually rewrites the table and breaks old readers. Add a
    new column, dual-write, backfill, switch, drop the old one later.
``create-index-without-concurrently``
    ``CREATE INDEX`` without ``CONCURRENTLY`` blocks writes to the table while it builds.
    ``supabase db push`` runs every migration file as one transaction, where ``CONCURRENTLY`` is
    impossible (PostgreSQL 15 does not refuse it there but commits the statements before it,
    breaking the one-transaction-per-file rule). So the rule accepts two shapes: the index is on
    a table created in the same file (nobody else can see it yet), or the file holds the
    ``CREATE INDEX CONCURRENTLY`` alone (besides ``SET`` statements). A ``CONCURRENTLY`` index in a
    file with other statements is the finding ``concurrently-in-transaction``. A plain index on a
    small existing table may be accepted (below) with the reason, e.g. its size and the
    ``lock_timeout`` that bounds the wait.
``drop-column``
    ``ALTER TABLE ... DROP COLUMN`` breaks the release still running: it is the contract step,
    allowed only once no deployed code reads the column (accept it saying so).
``rename-column`` / ``rename-table``
    Renames break the running release; add the new name, dual-write, contract later.
``add-foreign-key-without-not-valid``
    ``ADD [CONSTRAINT ..] FOREIGN KEY`` (or ``ADD COLUMN .. REFERENCES``) on an existing table
    without ``NOT VALID`` scans it while locking both tables; add it ``NOT VALID`` and
    ``VALIDATE CONSTRAINT`` in a later migration.
``add-check-without-not-valid``
    The same for ``ADD [CONSTRAINT ..] CHECK``.
``lock-table``
    An explicit ``LOCK TABLE``.
``lock-timeout-not-set`` / ``statement-timeout-not-set``
    Every migration sets ``lock_timeout`` and ``statement_timeout`` (``SET [LOCAL]`` or
    ``set_config(..)``, to a value other than 0) before its first other statement. These two
    cannot be accepted.

Statements on a table created earlier in the same file are exempt from the lock rules: the
table is new, empty and invisible to other sessions until the migration commits.

Accepting a finding: a line comment directly above the statement (between the previous
statement and this one)::

    -- release-gate: accept create-index-without-concurrently: tenants has 12 rows; lock_timeout 3s bounds the wait
    create index tenants_region_idx on public.tenants (region);

names the rule and gives a reason after a second colon. An acceptance without a reason, or
naming an unknown rule, does not count and is itself reported (``invalid-acceptance``).

Limits: SQL-standard function bodies (``BEGIN ATOMIC ... END``) are not recognised (their
inner semicolons split the statement); psql meta-commands are not expected in migrations.

``python -m checks.migration_lint FILE...`` prints the findings and exits 1 if there are any.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

RULES: Final[dict[str, str]] = {
    "add-column-with-volatile-default": "ADD COLUMN with a volatile default rewrites the table under ACCESS EXCLUSIVE",
    "set-not-null": "SET NOT NULL scans the table under ACCESS EXCLUSIVE; use a NOT VALID check constraint first",
    "alter-column-type": "ALTER COLUMN TYPE rewrites the table and breaks the running release",
    "create-index-without-concurrently": "CREATE INDEX without CONCURRENTLY blocks writes while it builds",
    "concurrently-in-transaction": "CREATE INDEX CONCURRENTLY cannot share a migration file (one transaction)"
    " with other statements; put it alone in its own file",
    "drop-column": "DROP COLUMN breaks the running release (contract step only)",
    "rename-column": "RENAME COLUMN breaks the running release",
    "rename-table": "RENAME TO breaks the running release",
    "add-foreign-key-without-not-valid": "FOREIGN KEY without NOT VALID scans the table while locking both tables",
    "add-check-without-not-valid": "CHECK constraint without NOT VALID scans the table under ACCESS EXCLUSIVE",
    "lock-table": "explicit LOCK TABLE",
    "lock-timeout-not-set": "the migration does not set lock_timeout before its first statement",
    "statement-timeout-not-set": "the migration does not set statement_timeout before its first statement",
    "invalid-acceptance": "a release-gate acceptance comment needs a known rule and a reason",
}
NOT_ACCEPTABLE: Final[frozenset[str]] = frozenset(
    {"lock-timeout-not-set", "statement-timeout-not-set", "invalid-acceptance"}
)
VOLATILE_FUNCTIONS: Final[frozenset[str]] = frozenset(
    {
        "RANDOM",
        "GEN_RANDOM_UUID",
        "UUID_GENERATE_V1",
        "UUID_GENERATE_V1MC",
        "UUID_GENERATE_V4",
        "CLOCK_TIMESTAMP",
        "TIMEOFDAY",
        "NEXTVAL",
        "TXID_CURRENT",
        "PG_CURRENT_XACT_ID",
        "GEN_RANDOM_BYTES",
        "SETSEED",
    }
)
_ACCEPT = re.compile(r"^--\s*release-gate:\s*accept\b\s*(?P<rest>.*)$", re.IGNORECASE)
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QNAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})?"


@dataclass(frozen=True)
class Statement:
    """One statement: its original text, its code (comments dropped, literals blanked)."""

    text: str
    code: str  # comments dropped, literals blanked, whitespace collapsed: what the rules match
    plain: str  # comments dropped, literals kept, whitespace collapsed
    line: int  # 1-based line of its first code character
    comments: tuple[tuple[int, str], ...] = ()  # line comments between the previous statement and this one


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str
    statement: str
    accepted: str | None = None  # the reason, when accepted

    def __str__(self) -> str:
        state = f" (accepted: {self.accepted})" if self.accepted else ""
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}: {self.statement}{state}"


@dataclass
class _Builder:
    line: int = 0
    text: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)
    comments: list[tuple[int, str]] = field(default_factory=list)

    def has_code(self) -> bool:
        return any(part.strip() for part in self.code)


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")


def _dollar_tag(sql: str, pos: int) -> str | None:
    match = _DOLLAR_TAG.match(sql, pos)
    return match.group(0) if match else None


def split_statements(sql: str) -> list[Statement]:  # noqa: PLR0912, PLR0915 - one tokenizer loop
    """Cut ``sql`` at top-level semicolons; raises ``ValueError`` on an unterminated literal."""
    statements: list[Statement] = []
    current = _Builder()
    i, line, n = 0, 1, len(sql)

    def emit() -> None:
        nonlocal current
        if current.has_code():
            code = re.sub(r"\s+", " ", "".join(current.code)).strip()
            plain = re.sub(r"\s+", " ", "".join(current.plain)).strip()
            text = "".join(current.text).strip()
            statements.append(Statement(text, code, plain, current.line, tuple(current.comments)))
            current = _Builder()
        # Comments after the last statement are kept for the next one.

    def start_code() -> None:
        if not current.has_code():
            current.line = line

    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            comment = sql[i:end]
            if not current.has_code():
                current.comments.append((line, comment.strip()))
            current.text.append(comment)
            current.code.append(" ")
            current.plain.append(" ")
            i = end
            continue
        if ch == "/" and sql.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise ValueError(f"line {line}: unterminated /* comment")
            chunk = sql[i:j]
            current.text.append(chunk)
            current.code.append(" ")
            current.plain.append(" ")
            line += chunk.count("\n")
            i = j
            continue
        if ch == "'":
            start_code()
            escapes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
            j = i + 1
            while True:
                if j >= n:
                    raise ValueError(f"line {line}: unterminated string literal")
                if escapes and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == "'":
                    if j + 1 < n and sql[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            chunk = sql[i : j + 1]
            current.text.append(chunk)
            current.code.append("''")
            current.plain.append(chunk)
            line += chunk.count("\n")
            i = j + 1
            continue
        if ch == '"':
            start_code()
            j = i + 1
            while True:
                if j >= n:
                    raise ValueError(f"line {line}: unterminated quoted identifier")
                if sql[j] == '"':
                    if j + 1 < n and sql[j + 1] == '"':
                        j += 2
                        continue
                    break
                j += 1
            chunk = sql[i : j + 1]
            current.text.append(chunk)
            current.code.append(chunk)
            current.plain.append(chunk)
            line += chunk.count("\n")
            i = j + 1
            continue
        if ch == "$" and not (i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_$")):
            tag = _dollar_tag(sql, i)
            if tag is not None:
                start_code()
                end = sql.find(tag, i + len(tag))
                if end == -1:
                    raise ValueError(f"line {line}: unterminated dollar quote {tag}")
                chunk = sql[i : end + len(tag)]
                current.text.append(chunk)
                current.code.append(f"{tag}{tag}")
                current.plain.append(chunk)
                line += chunk.count("\n")
                i = end + len(tag)
                continue
        if ch == ";":
            current.text.append(";")
            emit()
            i += 1
            continue
        if not ch.isspace():
            start_code()
        elif ch == "\n":
            line += 1
        current.text.append(ch)
        current.code.append(ch)
        current.plain.append(ch)
        i += 1
    emit()
    return statements


# ------------------------------------------------------------------------- helpers


def _name(raw: str) -> str:
    """``public.tenants``, ``"public"."Tenants"`` and ``tenants`` normalised (unqualified means public)."""
    parts = [p.strip() for p in re.findall(_IDENT, raw)]
    names = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts]
    if len(names) == 1:
        names.insert(0, "public")
    return ".".join(names[-2:])


def _split_top_level(code: str) -> list[str]:
    """Split on commas outside parentheses (the actions of an ALTER TABLE)."""
    parts, depth, start = [], 0, 0
    for index, ch in enumerate(code):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(code[start:index].strip())
            start = index + 1
    parts.append(code[start:].strip())
    return [p for p in parts if p]


def _functions_called(code: str) -> set[str]:
    return {m.group(1).upper() for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", code)}


def _short(text: str, limit: int = 100) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _timeout_value(stmt: Statement, setting: str) -> str | None:
    """The value ``stmt`` gives ``setting`` (SET [LOCAL|SESSION] or set_config), None if it sets nothing."""
    match = re.match(rf"SET\s+(?:LOCAL\s+|SESSION\s+)?{setting}\s*(?:=|TO)\s*(?P<value>.+)$", stmt.plain, re.IGNORECASE)
    if match:
        return match.group("value").strip()
    match = re.match(
        rf"SELECT\s+(?:pg_catalog\s*\.\s*)?set_config\s*\(\s*'{setting}'\s*,\s*'(?P<value>[^']*)'",
        stmt.plain,
        re.IGNORECASE,
    )
    return match.group("value") if match else None


def _is_zero(value: str) -> bool:
    stripped = value.strip().rstrip(";").strip().strip("'\"").strip().lower()
    return re.fullmatch(r"0+\s*(?:us|ms|s|min|h|d)?|default|", stripped) is not None


# --------------------------------------------------------------------------- rules


@dataclass
class _FileContext:
    path: str
    statements: list[Statement]
    created_tables: set[str] = field(default_factory=set)


def _alter_table_findings(stmt: Statement, ctx: _FileContext) -> list[tuple[str, str]]:  # noqa: PLR0912 - one branch per rule
    match = re.match(
        rf"ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<name>{_QNAME})\s*\*?\s+(?P<actions>.*)$",
        stmt.code,
        re.IGNORECASE | re.DOTALL,
    )
    if not match:
        return []
    table = _name(match.group("name"))
    if table in ctx.created_tables:
        return []
    found: list[tuple[str, str]] = []
    for action in _split_top_level(match.group("actions")):
        upper = action.upper()
        if re.match(r"RENAME\s+TO\b", upper):
            found.append(("rename-table", f"{table} is renamed"))
        elif re.match(r"RENAME\s+(?:COLUMN\s+)?(?!CONSTRAINT\b)", upper):
            found.append(("rename-column", f"a column of {table} is renamed"))
        elif re.match(r"DROP\s+(?!CONSTRAINT\b)(?:COLUMN\s+)?", upper) and not re.match(
            r"DROP\s+(?:CONSTRAINT|DEFAULT|NOT\s+NULL|EXPRESSION|IDENTITY)\b", upper
        ):
            found.append(("drop-column", f"a column of {table} is dropped"))
        elif re.match(r"ADD\s+(?:COLUMN\s+)?(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|CHECK\b|FOREIGN\b|EXCLUDE\b)", upper):
            called = _functions_called(action) & VOLATILE_FUNCTIONS
            default = re.search(r"\bDEFAULT\b(?P<expr>.*)", upper)
            volatile = bool(default and (_functions_called(default.group("expr")) & VOLATILE_FUNCTIONS))
            serial = re.search(r"\b(?:SMALL|BIG)?SERIAL[248]?\b", upper) is not None
            stored = re.search(r"\bGENERATED\s+ALWAYS\s+AS\s*\(.*\)\s*STORED\b", upper) is not None
            if volatile or serial or stored:
                what = ", ".join(sorted(called)) or ("a serial type" if serial else "a stored generated column")
                found.append(("add-column-with-volatile-default", f"new column of {table} with {what}"))
            if re.search(r"\bREFERENCES\b", upper) and not re.search(r"\bNOT\s+VALID\b", upper):
                found.append(("add-foreign-key-without-not-valid", f"new column of {table} references another table"))
        elif re.match(r"ADD\s+(?:CONSTRAINT\s+\S+\s+)?FOREIGN\s+KEY\b", upper):
            if not re.search(r"\bNOT\s+VALID\b", upper):
                found.append(("add-foreign-key-without-not-valid", f"foreign key on {table} without NOT VALID"))
        elif re.match(r"ADD\s+(?:CONSTRAINT\s+\S+\s+)?CHECK\b", upper):
            if not re.search(r"\bNOT\s+VALID\b", upper):
                found.append(("add-check-without-not-valid", f"check constraint on {table} without NOT VALID"))
        elif re.match(r"ALTER\s+(?:COLUMN\s+)?\S+\s+SET\s+NOT\s+NULL\b", upper):
            found.append(("set-not-null", f"a column of {table} is set NOT NULL"))
        elif re.match(r"ALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b", upper):
            found.append(("alter-column-type", f"a column of {table} changes type"))
    return found


def _statement_findings(stmt: Statement, ctx: _FileContext) -> list[tuple[str, str]]:  # noqa: PLR0911 - one return per rule
    code, upper = stmt.code, stmt.code.upper()
    created = re.match(
        rf"CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
        rf"(?P<name>{_QNAME})",
        code,
        re.IGNORECASE,
    )
    if created:
        ctx.created_tables.add(_name(created.group("name")))
        return []
    if upper.startswith("ALTER TABLE"):
        return _alter_table_findings(stmt, ctx)
    index = re.match(
        rf"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?P<concurrently>CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
        rf"(?:{_QNAME}\s+)?ON\s+(?:ONLY\s+)?(?P<table>{_QNAME})",
        code,
        re.IGNORECASE,
    )
    if index:
        table = _name(index.group("table"))
        if index.group("concurrently"):
            others = [s for s in ctx.statements if s is not stmt and not s.code.upper().startswith(("SET ", "RESET "))]
            if others:
                return [
                    ("concurrently-in-transaction", f"index on {table} shares its file with {len(others)} statements")
                ]
            return []
        if table in ctx.created_tables:
            return []
        return [("create-index-without-concurrently", f"index on the existing table {table}")]
    if re.match(r"LOCK\s+(?:TABLE\s+)?", upper):
        return [("lock-table", "explicit table lock")]
    return []


def _acceptances(stmt: Statement) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """The rules accepted above ``stmt`` with their reasons, and the invalid acceptance comments."""
    accepted: dict[str, str] = {}
    invalid: list[tuple[int, str]] = []
    open_rule: str | None = None  # an acceptance whose reason may go on over the next comment lines
    previous_line = -1
    for line, comment in stmt.comments:
        match = _ACCEPT.match(comment)
        if match is None:
            if open_rule is not None and line == previous_line + 1 and comment.startswith("--"):
                accepted[open_rule] = f"{accepted[open_rule]} {comment.lstrip('-').strip()}".strip()
                previous_line = line
            else:
                open_rule = None
            continue
        open_rule, previous_line = None, line
        rule, _, reason = match.group("rest").partition(":")
        rule, reason = rule.strip().lower(), reason.strip()
        if rule not in RULES or rule in NOT_ACCEPTABLE:
            invalid.append((line, f"unknown or not acceptable rule {rule!r}"))
        elif not reason:
            invalid.append((line, f"acceptance of {rule} without a reason does not count"))
        else:
            accepted[rule] = reason
            open_rule = rule
    return accepted, invalid


def lint_sql(sql: str, path: str = "<sql>") -> list[Finding]:
    """Every finding of one migration's text, accepted ones included (``Finding.accepted``)."""
    try:
        statements = split_statements(sql)
    except ValueError as exc:
        return [Finding(path, 1, "invalid-acceptance", f"cannot split the file: {exc}", "")]
    ctx = _FileContext(path, statements)
    findings: list[Finding] = []
    timeouts: dict[str, bool] = {"lock_timeout": False, "statement_timeout": False}
    first_other: Statement | None = None
    for stmt in statements:
        upper = stmt.code.upper()
        is_setting = False
        for setting in timeouts:
            value = _timeout_value(stmt, setting)
            if value is not None:
                is_setting = True
                if first_other is None and not _is_zero(value):
                    timeouts[setting] = True
        if upper.startswith(("SET ", "RESET ", "BEGIN", "START TRANSACTION")):
            is_setting = True
        if not is_setting and first_other is None:
            first_other = stmt
        accepted, invalid = _acceptances(stmt)
        for line, message in invalid:
            findings.append(Finding(path, line, "invalid-acceptance", message, _short(stmt.plain)))
        for rule, message in _statement_findings(stmt, ctx):
            findings.append(Finding(path, stmt.line, rule, message, _short(stmt.plain), accepted.get(rule)))
    for setting, done in timeouts.items():
        if not done:
            line = first_other.line if first_other else 1
            rule = "lock-timeout-not-set" if setting == "lock_timeout" else "statement-timeout-not-set"
            findings.append(
                Finding(path, line, rule, f"set {setting} (SET LOCAL {setting} = '...') before the first statement", "")
            )
    findings.sort(key=lambda f: (f.line, f.rule))
    return findings


def lint_file(path: Path) -> list[Finding]:
    return lint_sql(path.read_text(encoding="utf-8"), str(path))


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings not accepted with a reason."""
    return [f for f in findings if f.accepted is None]


def main(argv: Sequence[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m checks.migration_lint MIGRATION.sql...", file=sys.stderr)
        return 2
    bad = 0
    for path in paths:
        for finding in lint_file(path):
            print(finding)
            bad += finding.accepted is None
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
