"""The ESLint JSON parser on a real ESLint 9 report and on a corpus of bad ones.

``data/eslint-report.json`` is the output of ``eslint -f json`` (ESLint 9.39.1, the sandbox's
own) over two small files: one that does not parse (a fatal error), one with a ``no-var``
error, an unused ``eslint-disable`` directive and a ``prefer-const`` warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checks.artifacts import ArtifactError
from checks.artifacts.eslint import load_eslint

REAL = Path(__file__).parent / "data" / "eslint-report.json"


def _real() -> list[dict[str, Any]]:
    document: list[dict[str, Any]] = json.loads(REAL.read_text(encoding="utf-8"))
    return document


def _write(tmp_path: Path, content: str | bytes | list[Any] | dict[str, Any]) -> Path:
    path = tmp_path / "eslint.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def test_real_report_counts_errors_and_warnings() -> None:
    report = load_eslint(REAL, root=Path("/tmp/eslintdemo"))
    assert (report.files, report.errors, report.warnings) == (2, 2, 2)
    assert str(report) == "2 errors, 2 warnings in 2 files"
    assert report.first(3) == [
        "broken.js:2:1  error  Parsing error: Unexpected token  (parse error)",
        "demo.js:1:1  error  Unexpected var, use let or const instead.  (no-var)",
        "demo.js:2:1  warning  Unused eslint-disable directive (no problems were reported from 'no-console').  (-)",
    ]


def test_a_clean_report(tmp_path: Path) -> None:
    clean = [{"filePath": "/w/a.ts", "messages": [], "errorCount": 0, "warningCount": 0, "suppressedMessages": []}]
    report = load_eslint(_write(tmp_path, clean))
    assert (report.errors, report.warnings, report.first()) == (0, 0, [])


def test_suppressed_messages_do_not_count(tmp_path: Path) -> None:
    suppressed = {"ruleId": "no-var", "severity": 2, "message": "x", "suppressions": [{"kind": "directive"}]}
    result = {"filePath": "/w/a.ts", "messages": [], "errorCount": 0, "warningCount": 0}
    report = load_eslint(_write(tmp_path, [{**result, "suppressedMessages": [suppressed]}]))
    assert report.errors == 0


def _bad(index: int, key: str, value: object) -> list[dict[str, Any]]:
    document = _real()
    if value is None:
        del document[index][key]
    else:
        document[index][key] = value
    return document


def _bad_message(key: str, value: object) -> list[dict[str, Any]]:
    document = _real()
    if value is None:
        del document[1]["messages"][0][key]
    else:
        document[1]["messages"][0][key] = value
    return document


ESLINT_CASES: dict[str, tuple[str | bytes | list[Any] | dict[str, Any], tuple[str, ...]]] = {
    "empty": ("", ("empty file",)),
    "truncated": (REAL.read_text(encoding="utf-8")[:400], ("not valid JSON", "cut short")),
    "nesting_bomb": ("[" * 100_000 + "]" * 100_000, ("nested too deeply",)),
    "stylish_not_json": ("\n/w/a.ts\n  1:1  error  Unexpected var  no-var\n", ("not valid JSON",)),
    "not_an_array": ({"errorCount": 0}, ("expected a JSON array of file results",)),
    "no_files": ([], ("lints no files",)),
    "severity_as_string": (_bad_message("severity", "2"), ("files.1.messages.0.severity", "'2'")),
    "severity_out_of_range": (_bad_message("severity", 3), ("files.1.messages.0.severity", "got 3")),
    "count_as_string": (_bad(0, "errorCount", "1"), ("files.0.errorCount", "valid integer")),
    "missing_messages": (_bad(1, "messages", None), ("files.1.messages: missing field",)),
    "missing_message_text": (_bad_message("message", None), ("files.1.messages.0.message: missing field",)),
    "missing_file_path": (_bad(0, "filePath", None), ("files.0.filePath: missing field",)),
    "counts_disagree": (_bad(1, "warningCount", 0), ("counts 1 errors and 0 warnings but lists 1 and 2",)),
}


@pytest.mark.parametrize("case", ESLINT_CASES)
def test_bad_eslint_report(tmp_path: Path, case: str) -> None:
    content, needles = ESLINT_CASES[case]
    path = _write(tmp_path, content)
    with pytest.raises(ArtifactError) as caught:
        load_eslint(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for needle in needles:
        assert needle in message, message
