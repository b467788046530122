"""ESLint's JSON report (``eslint -f json``): errors, warnings and the first messages.

The report is an array with one entry per linted file::

    [{"filePath": "/abs/src/app.ts", "errorCount": 1, "warningCount": 0, "fatalErrorCount": 0,
      "messages": [{"ruleId": "eqeqeq", "severity": 2, "message": "Expected '===' ...",
                    "line": 12, "column": 9}], "suppressedMessages": [], ...}]

Severity 2 is an error and 1 a warning; a parse failure is a message with ``"fatal": true``
and no rule. Counts are taken from the messages and must agree with each file's
``errorCount``/``warningCount``. Suppressed messages (``eslint-disable``) do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from checks.artifacts import ArtifactError, load_json, validated

__all__ = ["LintMessage", "LintReport", "load_eslint"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)


class _Message(_Strict):
    ruleId: StrictStr | None = None
    severity: Literal[1, 2]
    message: StrictStr
    line: StrictInt | None = None
    column: StrictInt | None = None
    fatal: StrictBool = False


class _FileResult(_Strict):
    filePath: Annotated[StrictStr, Field(min_length=1)]
    messages: list[_Message]
    errorCount: Annotated[StrictInt, Field(ge=0)]
    warningCount: Annotated[StrictInt, Field(ge=0)]


class _Report(_Strict):
    files: list[_FileResult]


@dataclass(frozen=True, slots=True)
class LintMessage:
    file: str
    line: int | None
    column: int | None
    rule: str | None
    severity: Literal["error", "warning"]
    message: str

    def __str__(self) -> str:
        where = self.file + "".join(f":{n}" for n in (self.line, self.column) if n is not None)
        rule = self.rule or ("parse error" if self.severity == "error" else "-")
        return f"{where}  {self.severity}  {self.message}  ({rule})"


@dataclass(frozen=True, slots=True)
class LintReport:
    path: Path
    files: int
    errors: int
    warnings: int
    messages: tuple[LintMessage, ...]  # errors first, then warnings, each in report order

    def first(self, count: int = 10) -> list[str]:
        return [str(message) for message in self.messages[:count]]

    def __str__(self) -> str:
        return f"{self.errors} errors, {self.warnings} warnings in {self.files} files"


def load_eslint(path: Path, *, root: Path | None = None) -> LintReport:
    """Read an ESLint JSON report; file names are shown relative to ``root`` when under it."""
    raw = load_json(path)
    if not isinstance(raw, list):
        raise ArtifactError(path, f"expected a JSON array of file results (eslint -f json), got a {type(raw).__name__}")
    report = validated(_Report, {"files": raw}, path)
    if not report.files:
        raise ArtifactError(path, "lints no files: ESLint was pointed at nothing")
    messages: list[LintMessage] = []
    for index, result in enumerate(report.files):
        errors = sum(message.severity == 2 for message in result.messages)
        warnings = len(result.messages) - errors
        if (errors, warnings) != (result.errorCount, result.warningCount):
            raise ArtifactError(
                path,
                f"files.{index} ({result.filePath}) counts {result.errorCount} errors and {result.warningCount} "
                f"warnings but lists {errors} and {warnings}: inconsistent",
            )
        shown = _relative(result.filePath, root)
        messages.extend(
            LintMessage(shown, m.line, m.column, m.ruleId, "error" if m.severity == 2 else "warning", m.message.strip())
            for m in result.messages
        )
    messages.sort(key=lambda message: message.severity != "error")  # stable: report order kept
    errors = sum(message.severity == "error" for message in messages)
    return LintReport(path, len(report.files), errors, len(messages) - errors, tuple(messages))


def _relative(file: str, root: Path | None) -> str:
    if root is None:
        return file
    try:
        return str(Path(file).relative_to(root))
    except ValueError:
        return file
