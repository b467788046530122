"""The CI gate over a run's Allure results: ``python -m reports.gate DIR --env staging``.

It reads the ``*-result.json`` files one at a time and compares them with the manifest the run
wrote last (``release-gate-manifest.json``) and with the checklist the manifest names. It passes
only when every checklist item that applies to ``--env`` has a passed result, no blocking test
failed, broke or was skipped by the gate, every test of the manifest has exactly one result,
every result belongs to a test of the manifest, all of it comes from one run, and nothing ended
inconclusive.

Exit codes: 0 passed, 1 blocked, 2 inconclusive, 3 results unreadable or incomplete. When
several apply, the highest wins except that 1 (something definitely failed) beats 2.

A result is matched to its pytest node id through the ``gate_nodeid`` label the plugin adds.
Without it (results of an older plugin), the node id is rebuilt from ``titlePath`` (path
segments, then class names) and ``name`` (function name and parametrize id); that fallback is
wrong for tests renamed with ``@allure.title``, and such results show up as not collected.
A ``gate_run_id`` label, when present, must equal the manifest's run id.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, Final

MANIFEST_NAME: Final = "release-gate-manifest.json"
ENVIRONMENT_NAME: Final = "environment.properties"
RESULT_SUFFIX: Final = "-result.json"
NODEID_LABEL: Final = "gate_nodeid"
RUN_LABEL: Final = "gate_run_id"
GATE_SKIP_PREFIX: Final = "release gate closed"
ENVIRONMENTS: Final = ("staging", "production", "local", "ci")
RELEASE_ENVIRONMENTS: Final = ("staging", "production")
STATUSES: Final = frozenset({"passed", "failed", "broken", "skipped", "unknown"})
DEFAULT_SUMMARY: Final = Path("reports/summary.md")
MAX_LISTED: Final = 20
UNKNOWN_RANK: Final = 10_000


class Exit(IntEnum):
    PASSED = 0
    BLOCKED = 1
    INCONCLUSIVE = 2
    INCOMPLETE = 3


class Unreadable(Exception):
    """The results cannot be judged; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Expected:
    """A test the run collected, as the manifest lists it."""

    nodeid: str
    phase: str
    rank: int
    advisory: bool
    checklist: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    path: Path
    run_id: str
    environment: str | None
    target: str
    version: str | None
    verdict: str
    checklist: Path | None
    tests: dict[str, Expected]


@dataclass(frozen=True, slots=True)
class Result:
    """What the gate keeps of one result file."""

    file: str
    nodeid: str
    status: str
    gated: bool
    duration_ms: int
    start_ms: int | None
    run_id: str | None


@dataclass(slots=True)
class Row:
    rank: int
    phase: str
    item: str
    status: str
    duration_ms: int


@dataclass(slots=True)
class Judgement:
    rows: list[Row] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)

    @property
    def exit(self) -> Exit:
        if self.incomplete:
            return Exit.INCOMPLETE
        if self.blocked:
            return Exit.BLOCKED
        if self.inconclusive:
            return Exit.INCONCLUSIVE
        return Exit.PASSED


# --- reading -------------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except OSError as exc:
        raise Unreadable(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unreadable(f"{path}: not valid JSON (truncated or corrupt): {exc}") from None
    except RecursionError:
        raise Unreadable(f"{path}: JSON nested too deeply") from None


def _field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, kind):
        raise Unreadable(f"{path}: field {key!r} is missing or has the wrong type")
    return value


def _expected(entry: Any, index: int, path: Path) -> Expected:
    if not isinstance(entry, dict) or not isinstance(entry.get("nodeid"), str):
        raise Unreadable(f"{path}: tests[{index}] has no node id")
    unit = entry.get("unit", "unknown")
    rank = entry.get("rank", UNKNOWN_RANK)
    advisory = entry.get("advisory", False)  # a test without properties is blocking: fail closed
    items = entry.get("checklist", [])
    if not (isinstance(unit, str) and isinstance(rank, int) and isinstance(advisory, bool) and isinstance(items, list)):
        raise Unreadable(f"{path}: tests[{index}] ({entry['nodeid']}): malformed unit, rank, advisory or checklist")
    if not all(isinstance(item, str) for item in items):
        raise Unreadable(f"{path}: tests[{index}] ({entry['nodeid']}) has a non-string checklist id")
    return Expected(entry["nodeid"], unit.split("/", 1)[0], rank, advisory, tuple(items))


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST_NAME
    if not path.is_file():
        raise Unreadable(f"{path}: missing: the run did not finish, or the folder is not from a release gate run")
    data = _load_json(path)
    if not isinstance(data, dict):
        raise Unreadable(f"{path}: not a JSON object")
    if data.get("schema") != 1:
        raise Unreadable(f"{path}: schema {data.get('schema')!r} is not supported (expected 1)")
    tests: dict[str, Expected] = {}
    for index, entry in enumerate(_field(data, "tests", list, path)):
        expected = _expected(entry, index, path)
        if expected.nodeid in tests:
            raise Unreadable(f"{path}: test {expected.nodeid} is listed twice")
        tests[expected.nodeid] = expected
    checklist = _field(data, "checklist", str, path, optional=True)
    return Manifest(
        path=path,
        run_id=_field(data, "run_id", str, path),
        environment=_field(data, "environment", str, path, optional=True),
        target=str(data.get("target") or "unknown"),
        version=_field(data, "version", str, path, optional=True),
        verdict=_field(data, "verdict", str, path),
        checklist=Path(checklist) if checklist else None,
        tests=tests,
    )


def read_properties(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Unreadable(f"{path}: missing: the run id of the results cannot be checked") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{path}: cannot read: {exc}") from None
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def run_started_ms(run_id: str) -> int | None:
    """The start of the run, from its id (``20261127T075029Z-692fb4``), in epoch milliseconds."""
    try:
        stamp = datetime.strptime(run_id.split("-", 1)[0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(stamp.timestamp()) * 1000


def _labels(data: dict[str, Any], name: str) -> list[str]:
    labels = data.get("labels")
    if not isinstance(labels, list):
        return []
    return [str(lb.get("value")) for lb in labels if isinstance(lb, dict) and lb.get("name") == name]


def fallback_nodeid(data: dict[str, Any]) -> str | None:
    """``titlePath`` (path segments, then classes) and ``name``, joined as pytest does."""
    title_path, name = data.get("titlePath"), data.get("name")
    if not isinstance(title_path, list) or not isinstance(name, str) or not title_path:
        return None
    parts = [str(part) for part in title_path]
    files = [i for i, part in enumerate(parts) if part.endswith(".py")]
    cut = files[-1] + 1 if files else len(parts)
    return "::".join(["/".join(parts[:cut]), *parts[cut:], name])


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_result(path: Path, data: Any) -> Result:
    if not isinstance(data, dict):
        raise Unreadable(f"{path}: not a JSON object")
    status = data.get("status")
    if status not in STATUSES:
        raise Unreadable(f"{path}: status {status!r} is not one of {', '.join(sorted(STATUSES))}")
    nodeids = _labels(data, NODEID_LABEL)
    nodeid = nodeids[0] if len(nodeids) == 1 else fallback_nodeid(data) if not nodeids else None
    if nodeid is None:
        raise Unreadable(f"{path}: cannot tell which test this result is for (no {NODEID_LABEL} label, no titlePath)")
    details = data.get("statusDetails")
    message = details.get("message") if isinstance(details, dict) else None
    # allure-pytest writes a skip's message as "Skipped: <reason>"
    gated = isinstance(message, str) and message.removeprefix("Skipped: ").startswith(GATE_SKIP_PREFIX)
    gated = gated and status == "skipped"
    start, stop = _int(data.get("start")), _int(data.get("stop"))
    runs = _labels(data, RUN_LABEL)
    return Result(
        file=path.name,
        nodeid=nodeid,
        status=status,
        gated=gated,
        duration_ms=max(stop - start, 0) if start is not None and stop is not None else 0,
        start_ms=start,
        run_id=runs[0] if runs else None,
    )


def iter_results(directory: Path) -> Iterator[Result | Unreadable]:
    """Every result of the folder, read and parsed one file at a time; a bad file yields its problem."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.endswith(RESULT_SUFFIX) and entry.is_file():
                path = Path(entry.path)
                try:
                    yield parse_result(path, _load_json(path))
                except Unreadable as exc:
                    yield exc


# --- judging -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Collected:
    """The results, by node id, and what was wrong with them while reading."""

    by_nodeid: dict[str, Result] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    files: int = 0


def collect(directory: Path, manifest: Manifest) -> Collected:
    collected = Collected()
    started = run_started_ms(manifest.run_id)
    for result in iter_results(directory):
        collected.files += 1
        if isinstance(result, Unreadable):
            collected.problems.append(str(result))
        else:
            _check_result(directory, result, manifest, started, collected)
    return collected


def _check_result(directory: Path, result: Result, manifest: Manifest, started: int | None, into: Collected) -> None:
    where = directory / result.file
    if result.nodeid not in manifest.tests:
        into.problems.append(f"{where}: result for {result.nodeid}, a test the manifest does not list (not collected)")
        return
    if result.run_id is not None and result.run_id != manifest.run_id:
        into.problems.append(f"{where}: from run {result.run_id}, not {manifest.run_id}: results of two runs mixed")
        return
    if started is not None and result.start_ms is not None and result.start_ms < started:
        into.problems.append(
            f"{where}: {result.nodeid} started before run {manifest.run_id} began: results of two runs mixed"
        )
        return
    first = into.by_nodeid.get(result.nodeid)
    if first is not None:
        into.problems.append(
            f"{where}: a second result for {result.nodeid} (first: {first.file}): results of two runs mixed"
        )
        return
    into.by_nodeid[result.nodeid] = result


def outcome_of(expected: Expected, result: Result) -> str:
    """``passed``, ``failed``, ``broken``, ``gated``, ``skipped`` or ``unknown``; advisory ones prefixed."""
    status = "gated" if result.gated else result.status
    if expected.advisory and status != "passed":
        return f"advisory {status}"
    return status


def judge_tests(manifest: Manifest, collected: Collected, judgement: Judgement) -> None:
    for nodeid, expected in manifest.tests.items():
        result = collected.by_nodeid.get(nodeid)
        if result is None:
            judgement.incomplete.append(f"{manifest.path}: {nodeid} has no result in {manifest.path.parent}")
            continue
        outcome = outcome_of(expected, result)
        where = manifest.path.parent / result.file
        if outcome in ("failed", "broken"):
            judgement.blocked.append(f"{where}: blocking test {nodeid} {outcome}")
        elif outcome == "gated":
            judgement.blocked.append(f"{where}: blocking test {nodeid} was skipped by the closed gate")
        elif outcome == "unknown":
            judgement.inconclusive.append(f"{where}: blocking test {nodeid} ended with status unknown")
        if outcome not in ("passed", "skipped") and not expected.checklist:
            judgement.rows.append(Row(expected.rank, expected.phase, nodeid, outcome, result.duration_ms))


def item_status(tests: list[tuple[Expected, Result | None]]) -> str:
    """A checklist item passes on any passed result; otherwise it takes its worst outcome."""
    outcomes = {outcome_of(e, r).removeprefix("advisory ") for e, r in tests if r is not None}
    if not tests:
        return "no test"
    if "passed" in outcomes:
        return "passed"
    for status in ("failed", "broken", "gated", "unknown", "skipped"):
        if status in outcomes:
            return "inconclusive" if status == "unknown" else status
    return "no result"


def judge_checklist(manifest: Manifest, env: str, collected: Collected, judgement: Judgement) -> None:
    from plugin.checklist import ChecklistError, load_checklist  # noqa: PLC0415 - pydantic only when judging

    if manifest.checklist is None:
        judgement.incomplete.append(f"{manifest.path}: names no checklist, so the checklist cannot be checked")
        return
    try:
        checklist = load_checklist(manifest.checklist)
    except ChecklistError as exc:
        judgement.incomplete.append(str(exc))
        return
    covering: dict[str, list[tuple[Expected, Result | None]]] = {}
    for nodeid, expected in manifest.tests.items():
        for item_id in expected.checklist:
            covering.setdefault(item_id, []).append((expected, collected.by_nodeid.get(nodeid)))
    for item in sorted(checklist.applying_to(env), key=lambda i: (i.unit.rank, i.id)):
        tests = covering.get(item.id, [])
        status = item_status(tests)
        duration = sum(r.duration_ms for _, r in tests if r is not None)
        judgement.rows.append(Row(item.unit.rank, item.unit.phase, item.id, status, duration))
        if status == "inconclusive":
            judgement.inconclusive.append(f"{checklist.path}: item {item.id} has no passed result (status unknown)")
        elif status != "passed":
            why = "no test covers it" if status == "no test" else status
            judgement.blocked.append(f"{checklist.path}: item {item.id} has no passed result ({why})")


def judge(directory: Path, env: str, checklist: Path | None = None) -> tuple[Manifest | None, Judgement]:
    try:
        return _judge(directory, env, checklist)
    except OSError as exc:  # the folder itself cannot be listed
        where = exc.filename or directory
        return None, Judgement(incomplete=[f"{where}: cannot read: {exc.strerror or exc}"])


def _judge(directory: Path, env: str, checklist: Path | None) -> tuple[Manifest | None, Judgement]:
    judgement = Judgement()
    try:
        manifest = _open(directory, checklist)
    except Unreadable as exc:
        judgement.incomplete.append(str(exc))
        return None, judgement
    _check_run(directory, manifest, env, judgement)
    collected = collect(directory, manifest)
    judgement.incomplete.extend(collected.problems)
    if collected.files == 0 and manifest.tests:
        judgement.incomplete.append(f"{directory}: no result files (*{RESULT_SUFFIX})")
    judge_tests(manifest, collected, judgement)
    judge_checklist(manifest, env, collected, judgement)
    judgement.rows.sort(key=lambda row: row.rank)
    if not manifest.verdict.startswith("RELEASE GATE: PASSED"):
        judgement.blocked.append(f"{manifest.path}: the run's own verdict: {manifest.verdict}")
    return manifest, judgement


def _open(directory: Path, checklist: Path | None) -> Manifest:
    if not directory.is_dir():
        raise Unreadable(f"{directory}: not a directory")
    if next(directory.iterdir(), None) is None:
        raise Unreadable(f"{directory}: empty folder: no Allure results")
    manifest = read_manifest(directory)
    if checklist is not None:
        manifest = replace(manifest, checklist=checklist)
    return manifest


def _check_run(directory: Path, manifest: Manifest, env: str, judgement: Judgement) -> None:
    path = directory / ENVIRONMENT_NAME
    try:
        run_id = read_properties(path).get("run_id")
    except Unreadable as exc:
        judgement.incomplete.append(str(exc))
        return
    if run_id != manifest.run_id:
        judgement.incomplete.append(
            f"{path}: run_id {run_id} differs from the manifest's {manifest.run_id}: results of two runs mixed"
        )
    if env in RELEASE_ENVIRONMENTS and manifest.environment not in (None, env):
        judgement.incomplete.append(f"{manifest.path}: results of a {manifest.environment} run, not {env}")


# --- reporting -----------------------------------------------------------------------------------

VERDICTS: Final = {
    Exit.PASSED: "PASSED",
    Exit.BLOCKED: "BLOCKED",
    Exit.INCONCLUSIVE: "INCONCLUSIVE",
    Exit.INCOMPLETE: "RESULTS UNREADABLE OR INCOMPLETE",
}


def verdict_line(judgement: Judgement) -> str:
    return f"ALLURE GATE: {VERDICTS[judgement.exit]}"


def duration(ms: int) -> str:
    return f"{ms / 1000:.1f}s"


def problems(judgement: Judgement) -> list[str]:
    found = judgement.incomplete + judgement.blocked + judgement.inconclusive
    if len(found) > MAX_LISTED:
        return [*found[:MAX_LISTED], f"... and {len(found) - MAX_LISTED} more"]
    return found


def table(rows: Sequence[Row]) -> list[str]:
    if not rows:
        return []
    width = max([len(row.item) for row in rows] + [4])
    lines = [f"{'phase':<18} {'item':<{width}} {'status':<16} {'duration':>9}"]
    lines += [f"{r.phase:<18} {r.item:<{width}} {r.status:<16} {duration(r.duration_ms):>9}" for r in rows]
    return lines


def markdown(directory: Path, env: str, manifest: Manifest | None, judgement: Judgement) -> str:
    lines = [f"## Release gate over Allure results: {VERDICTS[judgement.exit]}", ""]
    lines.append(f"- results: `{directory}`, environment `{env}`")
    if manifest is not None:
        version = manifest.version or "unknown"
        lines.append(f"- run `{manifest.run_id}`, target `{manifest.target}`, version `{version}`")
        lines.append(f"- the run's verdict: {manifest.verdict}")
    lines.append("")
    if judgement.rows:
        lines += ["| phase | item | status | duration |", "|---|---|---|---:|"]
        lines += [f"| {r.phase} | `{r.item}` | {r.status} | {duration(r.duration_ms)} |" for r in judgement.rows]
        lines.append("")
    found = problems(judgement)
    if found:
        lines += ["### Problems", "", *(f"- {problem}" for problem in found), ""]
    return "\n".join(lines)


def write_summary(path: Path, text: str) -> str | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        return f"{path}: cannot write the summary: {exc.strerror or exc}"
    return None


def append_step_summary(text: str) -> str | None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    try:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        return f"{target}: cannot append the step summary (GITHUB_STEP_SUMMARY): {exc.strerror or exc}"
    return None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reports.gate", description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="the Allure results folder (--alluredir of the run)")
    parser.add_argument("--env", required=True, choices=ENVIRONMENTS, help="the checklist items that must pass")
    parser.add_argument("--summary", type=Path, default=DEFAULT_SUMMARY, help="Markdown summary to write")
    parser.add_argument("--checklist", type=Path, help="checklist file (default: the one the manifest names)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    manifest, judgement = judge(args.directory, args.env, args.checklist)
    for line in table(judgement.rows):
        print(line)
    for problem in problems(judgement):
        print(problem, file=sys.stderr)
    text = markdown(args.directory, args.env, manifest, judgement)
    for failure in (write_summary(args.summary, text), append_step_summary(text)):
        if failure:
            print(failure, file=sys.stderr)
    print(f"summary: {args.summary}")
    print(verdict_line(judgement))
    return int(judgement.exit)


if __name__ == "__main__":
    sys.exit(main())
