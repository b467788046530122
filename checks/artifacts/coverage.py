"""Coverage reports: Cobertura XML, lcov tracefiles and istanbul ``coverage-summary.json``.

Each loader returns the lines and branches of one report as covered/total counts. The
percentages are computed from the counts, never read from a rate or ``pct`` field, and
reports are combined by adding counts, never by averaging percentages.

Cobertura is streamed with ``defusedxml.ElementTree.iterparse`` and lcov is read in blocks of
whole records, so a 100 MB report needs neither a tree nor the whole text in memory
(``benchmarks/parse_coverage.py``). defusedxml refuses entity declarations (the "billion
laughs" bomb) and external references.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Final, Literal
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, iterparse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from checks.artifacts import ArtifactError, load_json, validated

__all__ = [
    "COVERAGE_FORMATS",
    "CoverageFormat",
    "CoverageReport",
    "Figure",
    "FigureName",
    "combine",
    "load_cobertura",
    "load_coverage",
    "load_istanbul_summary",
    "load_lcov",
]

CoverageFormat = Literal["cobertura", "lcov", "istanbul"]
FigureName = Literal["lines", "branches", "both"]

_SHOWN_LINE_CHARS: Final = 80
_NO_FILE: Final = "no such file: the step that writes it did not run or wrote elsewhere"


@dataclass(frozen=True, slots=True)
class Figure:
    """Covered out of total; a total of 0 counts as 100%, as the coverage tools count it."""

    covered: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total

    def meets(self, minimum: float) -> bool:
        """Exactly: 79.9999% does not round up to 80%."""
        return self.total == 0 or Fraction(100 * self.covered, self.total) >= Fraction(minimum)

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.covered + other.covered, self.total + other.total)

    def __str__(self) -> str:
        # Floored to hundredths, so a figure just under the threshold never prints as the threshold.
        hundredths = 10_000 if self.total == 0 else 10_000 * self.covered // self.total
        return f"{hundredths // 100}.{hundredths % 100:02d}% ({self.covered}/{self.total})"


@dataclass(frozen=True, slots=True)
class CoverageReport:
    path: Path
    format: CoverageFormat
    lines: Figure
    branches: Figure

    def shortfalls(self, figure: FigureName, minimum: float) -> list[str]:
        """What keeps the configured figure(s) from ``minimum`` percent; empty when it is met.

        A report that measured no lines at all fails whatever the figure: its tool was
        pointed at nothing, and "100% of nothing" is not coverage.
        """
        if self.lines.total == 0:
            return ["no lines were measured"]
        chosen: tuple[Literal["lines", "branches"], ...] = ("lines", "branches") if figure == "both" else (figure,)
        return [
            f"{name} {getattr(self, name)} < {minimum:g}%" for name in chosen if not getattr(self, name).meets(minimum)
        ]

    def __str__(self) -> str:
        return f"lines {self.lines}, branches {self.branches}"


def combine(reports: Iterable[CoverageReport]) -> tuple[Figure, Figure]:
    """Lines and branches over several reports, by adding their counts."""
    lines = branches = Figure(0, 0)
    for report in reports:
        lines += report.lines
        branches += report.branches
    return lines, branches


def _checked(path: Path, covered: int, total: int, what: str) -> Figure:
    if covered < 0 or total < 0 or covered > total:
        raise ArtifactError(path, f"{what}: {covered} covered out of {total} is impossible")
    return Figure(covered, total)


# --- Cobertura ----------------------------------------------------------------------------

_COBERTURA_TOTALS: Final = ("lines-valid", "lines-covered", "branches-valid", "branches-covered")


class _CoberturaParser(DefusedXMLParser):  # type: ignore[misc]  # defusedxml is untyped
    """defusedxml's parser, minus the namespace handling Cobertura never needs.

    defusedxml runs the pure-Python ``XMLParser`` so that it can refuse entity declarations
    and external references. Its per-element work is renaming ``{namespace}`` tags and
    pairing up an attribute list; handing expat's attribute dict and tag name straight to
    the tree builder parses a 100 MB report in 3.6 s instead of 4.8 s. Every refusal of
    :class:`DefusedXMLParser` still applies (``tests/checks/test_artifacts_coverage.py``).
    """

    def __init__(self) -> None:
        super().__init__(target=TreeBuilder())
        self.parser.ordered_attributes = False

    def _start(self, tag: str, attrib: dict[str, str]) -> Element:
        return self.target.start(tag, attrib)  # type: ignore[no-any-return]

    def _end(self, tag: str) -> Element:
        return self.target.end(tag)  # type: ignore[no-any-return]


def _whole_number(path: Path, value: str | None, what: str) -> int:
    if value is None:
        raise ArtifactError(path, f"missing field: {what}")
    try:
        return int(value)
    except ValueError:
        raise ArtifactError(path, f"{what}={value[:_SHOWN_LINE_CHARS]!r} is not a whole number") from None


def _stream_cobertura(path: Path) -> tuple[int, int, dict[str, str] | None]:
    """Class-level lines, how many were hit, and the root's attributes (None: no <coverage>)."""
    lines = covered = 0
    root_attributes: dict[str, str] | None = None
    with path.open("rb") as handle:
        # Only end events: a <line> inside a <method> repeats a class-level line, so a
        # method's lines are taken back out when the method ends. Each class is cleared
        # when it ends, so memory holds one class, not the document.
        for _, element in iterparse(handle, events=("end",), parser=_CoberturaParser()):
            tag = element.tag
            if tag == "line":
                lines += 1
                hits = element.get("hits")
                if hits != "0":
                    try:
                        covered += int(hits) > 0
                    except (TypeError, ValueError):  # None (no hits attribute) or not a number
                        _whole_number(path, hits, f"hits of <line number={element.get('number')!r}>")
                        raise
            elif tag == "method":
                for line in element.iter("line"):  # each was checked when it ended
                    lines -= 1
                    covered -= int(line.get("hits", "0")) > 0
                element.clear()
            elif tag in ("class", "package"):
                element.clear()
            elif tag == "coverage":
                root_attributes = dict(element.attrib)
    return lines, covered, root_attributes


def load_cobertura(path: Path) -> CoverageReport:
    """A Cobertura XML report (coverage.py, istanbul/vitest, gcovr), streamed.

    Totals are the root's ``lines-*`` and ``branches-*`` attributes. Every class-level
    ``<line>`` is counted on the way, and the lines the root declares must match them, so a
    report cut short or edited by hand does not pass on its header alone. (Branches cannot be
    checked that way: istanbul attributes some branches to no line.)
    """
    try:
        if path.stat().st_size == 0:
            raise ArtifactError(path, "empty file")
        lines, covered, root_attributes = _stream_cobertura(path)
    except FileNotFoundError:
        raise ArtifactError(path, _NO_FILE) from None
    except OSError as exc:
        raise ArtifactError(path, f"cannot read: {exc.strerror or exc}") from None
    except DefusedXmlException as exc:
        raise ArtifactError(path, f"refused by defusedxml: {exc} (an entity bomb or external reference?)") from None
    except ParseError as exc:
        raise ArtifactError(path, f"not well-formed XML ({exc}): cut short or corrupt") from None
    if root_attributes is None:
        raise ArtifactError(path, "the root element is not <coverage>: not a Cobertura report")
    totals = {name: _whole_number(path, root_attributes.get(name), f"<coverage {name}>") for name in _COBERTURA_TOTALS}
    if (totals["lines-valid"], totals["lines-covered"]) != (lines, covered):
        raise ArtifactError(
            path,
            f"declares lines-valid={totals['lines-valid']} lines-covered={totals['lines-covered']} but lists "
            f"{lines} lines, {covered} covered: inconsistent or cut short",
        )
    return CoverageReport(
        path,
        "cobertura",
        _checked(path, covered, lines, "lines"),
        _checked(path, totals["branches-covered"], totals["branches-valid"], "branches"),
    )


# --- lcov ---------------------------------------------------------------------------------


def _lcov_problem(path: Path, number: int, raw: bytes, problem: str) -> ArtifactError:
    shown = raw.rstrip(b"\r\n")[:_SHOWN_LINE_CHARS].decode("utf-8", errors="replace")
    return ArtifactError(path, f"line {number}: {problem}: {shown!r}")


# One line of a tracefile the fast path accepts. Possessive, so a 100 MB block is matched
# without backtracking. DA, BRDA and the stated counts are strict; every other TAG: line
# (TN, SF, FN, FNDA, FNF, FNH, VER, ...) is carried as is.
_LCOV_BLOCK: Final = re.compile(
    rb"(?:DA:\d+,\d+(?:,[^\r\n]*)?\r?\n"
    rb"|BRDA:[^,\r\n]*,[^,\r\n]*,[^\r\n]*,(?:-|\d+)\r?\n"
    rb"|(?:LF|LH|BRF|BRH):\d+\r?\n"
    rb"|(?!(?:DA|BRDA|LF|LH|BRF|BRH):)[A-Z]+:[^\r\n]*\r?\n"
    rb"|end_of_record\r?\n"
    rb"|\r?\n)*+"
)
_LCOV_DA_ZERO: Final = re.compile(rb"\nDA:\d+,0+(?=[,\r\n])")
_LCOV_BRDA_NOT_TAKEN: Final = re.compile(rb"\nBRDA:[^\r\n]*,(?:-|0+)(?=\r?\n)")
_LCOV_STATED: Final = re.compile(rb"\n(LF|LH|BRF|BRH):(\d+)(?=\r?\n)")
_LCOV_BLOCK_BYTES: Final = 8 * 1024 * 1024
_LCOV_RECORD_END: Final = b"\nend_of_record"


class _NotPlain(Exception):
    """The fast path met something it does not judge; the exact reader decides."""


def load_lcov(path: Path) -> CoverageReport:
    """An lcov tracefile (``lcov.info``).

    Lines come from ``DA`` records and branches from ``BRDA`` records (a taken count of
    ``-`` is a branch that never ran). Where a record also states ``LF``/``LH``/``BRF``/``BRH``
    they must agree with its data. Every record must end with ``end_of_record``.

    A tracefile is read in blocks of whole records, each checked line by line against the
    format by one regular expression and counted with ``bytes.count`` and ``findall``: a
    100 MB file in 2.7 s where a Python loop over its lines takes 6 s. Anything that
    block check does not accept is read again line by line, which names the line at fault.
    """
    try:
        return _lcov_blocks(path)
    except _NotPlain:
        return _lcov_lines(path)


def _lcov_record(record: bytes) -> tuple[int, int, int, int]:
    """Lines, lines hit, branches and branches taken of one record (text before its end_of_record)."""
    start = record.find(b"\nSF:")
    if start < 0 or record.find(b"\nSF:", start + 1) >= 0:
        raise _NotPlain
    head, body = record[:start], record[start:]
    if b"\nDA:" in head or b"\nBRDA:" in head:
        raise _NotPlain
    lines = body.count(b"\nDA:")
    hit = lines - len(_LCOV_DA_ZERO.findall(body))
    branches = body.count(b"\nBRDA:")
    taken = branches - len(_LCOV_BRDA_NOT_TAKEN.findall(body))
    stated = dict(_LCOV_STATED.findall(body))
    for key, counted in ((b"LF", lines), (b"LH", hit), (b"BRF", branches), (b"BRH", taken)):
        if key in stated and int(stated[key]) != counted:
            raise _NotPlain
    return lines, hit, branches, taken


def _lcov_blocks(path: Path) -> CoverageReport:
    lines = hit = branches = taken = records = 0
    carry = b"\n"  # every block starts with a newline, so each line is found as b"\n<TAG>:"
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_LCOV_BLOCK_BYTES):
                data = carry + chunk
                cut = data.rfind(_LCOV_RECORD_END)
                end = data.find(b"\n", cut + len(_LCOV_RECORD_END)) if cut >= 0 else -1
                if end < 0:
                    carry = data
                    continue
                # Whole records up to the last end_of_record line; its newline also starts the carry.
                block, carry = data[: end + 1], data[end:]
                if _LCOV_BLOCK.fullmatch(block) is None:
                    raise _NotPlain
                *complete, rest = block.split(_LCOV_RECORD_END)
                if rest.strip():
                    raise _NotPlain
                for record in complete:
                    counts = _lcov_record(record)
                    lines += counts[0]
                    hit += counts[1]
                    branches += counts[2]
                    taken += counts[3]
                records += len(complete)
    except OSError:
        raise _NotPlain from None
    if carry.strip() or records == 0:
        raise _NotPlain
    return CoverageReport(path, "lcov", Figure(hit, lines), Figure(taken, branches))


class _LcovLines:
    """The exact reader: one line at a time, naming the first line that breaks the format."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = [0, 0, 0, 0]  # lines, lines hit, branches, branches taken
        self.records = 0
        self.record: bytes | None = None  # the SF of the open record
        self.counts = [0, 0, 0, 0]
        self.stated: dict[bytes, int] = {}

    def problem(self, number: int, raw: bytes, what: str) -> ArtifactError:
        return _lcov_problem(self.path, number, raw, what)

    def feed(self, number: int, raw: bytes) -> None:
        if raw.startswith(b"DA:"):
            parts = raw[3:].split(b",", 2)
            try:
                hits = int(parts[1])
            except (IndexError, ValueError):
                raise self.problem(number, raw, "bad DA record") from None
            self.data(number, raw, 0, hits > 0)
        elif raw.startswith(b"BRDA:"):
            parts = raw[5:].rstrip().split(b",")
            if len(parts) < 4:
                raise self.problem(number, raw, "bad BRDA record")
            try:
                taken = parts[-1] != b"-" and int(parts[-1]) > 0
            except ValueError:
                raise self.problem(number, raw, "bad BRDA taken count") from None
            self.data(number, raw, 2, taken)
        elif raw.startswith(b"SF:"):
            if self.record is not None:
                raise self.problem(number, raw, "SF before the previous record's end_of_record")
            self.record = raw[3:].rstrip(b"\r\n") or b"?"
            self.counts = [0, 0, 0, 0]
            self.stated.clear()
        elif raw.startswith(b"end_of_record"):
            self.end(number, raw)
        elif raw[:3] in (b"LF:", b"LH:") or raw[:4] in (b"BRF:", b"BRH:"):
            key, _, value = raw.partition(b":")
            try:
                self.stated[key] = int(value)
            except ValueError:
                raise self.problem(number, raw, f"bad {key.decode()} count") from None
        elif raw.strip() and not _is_other_record(raw):
            raise self.problem(number, raw, "not an lcov record")

    def data(self, number: int, raw: bytes, index: int, hit: bool) -> None:
        if self.record is None:
            raise self.problem(number, raw, f"{raw.partition(b':')[0].decode()} outside a record (no SF before it)")
        self.counts[index] += 1
        self.counts[index + 1] += hit

    def end(self, number: int, raw: bytes) -> None:
        if self.record is None:
            raise self.problem(number, raw, "end_of_record without a record")
        for key, counted in zip((b"LF", b"LH", b"BRF", b"BRH"), self.counts, strict=True):
            if key in self.stated and self.stated[key] != counted:
                name = self.record.decode("utf-8", errors="replace")
                raise ArtifactError(
                    self.path, f"line {number}: {name} states {key.decode()}:{self.stated[key]} but has {counted}"
                )
        self.total = [a + b for a, b in zip(self.total, self.counts, strict=True)]
        self.records += 1
        self.record = None


def _lcov_lines(path: Path) -> CoverageReport:
    reader = _LcovLines(path)
    number = 0
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                reader.feed(number, raw)
    except FileNotFoundError:
        raise ArtifactError(path, _NO_FILE) from None
    except OSError as exc:
        raise ArtifactError(path, f"cannot read: {exc.strerror or exc}") from None
    if number == 0:
        raise ArtifactError(path, "empty file")
    if reader.record is not None:
        name = reader.record.decode("utf-8", errors="replace")
        raise ArtifactError(path, f"the record for {name} has no end_of_record: the file is cut short")
    if reader.records == 0:
        raise ArtifactError(path, "no SF ... end_of_record record: not an lcov tracefile")
    lines, hit, branches, taken = reader.total
    return CoverageReport(path, "lcov", Figure(hit, lines), Figure(taken, branches))


def _is_other_record(raw: bytes) -> bool:
    """TN, FN, FNDA, FNF, FNH, VER and other ``TAG:`` records the gate does not read."""
    tag, colon, _ = raw.partition(b":")
    return bool(colon) and tag.isupper() and tag.isalpha()


# --- istanbul json-summary -----------------------------------------------------------------


class _SummaryMetric(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    total: Annotated[StrictInt, Field(ge=0)]
    covered: Annotated[StrictInt, Field(ge=0)]
    # Not used (the percentage is recomputed), but a string here ("Unknown") means the
    # report was written from data istanbul could not count.
    pct: float  # strict: a number, int or float; never a string


class _SummaryTotal(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    lines: _SummaryMetric
    branches: _SummaryMetric


class _Summary(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)

    total: _SummaryTotal


def load_istanbul_summary(path: Path) -> CoverageReport:
    """istanbul's ``json-summary`` (``coverage-summary.json``): its ``total`` entry."""
    summary = validated(_Summary, load_json(path), path)
    lines, branches = summary.total.lines, summary.total.branches
    return CoverageReport(
        path,
        "istanbul",
        _checked(path, lines.covered, lines.total, "total.lines"),
        _checked(path, branches.covered, branches.total, "total.branches"),
    )


COVERAGE_FORMATS: Final[dict[CoverageFormat, tuple[Callable[[Path], CoverageReport], str]]] = {
    "cobertura": (load_cobertura, "cobertura-coverage.xml"),
    "lcov": (load_lcov, "lcov.info"),
    "istanbul": (load_istanbul_summary, "coverage-summary.json"),
}
"""Each format's loader and the file name the istanbul reporters (vitest, jest, nyc) give it."""


def load_coverage(path: Path, fmt: CoverageFormat) -> CoverageReport:
    loader, _ = COVERAGE_FORMATS[fmt]
    return loader(path)
