"""Parsers for the files the release gate judges: coverage, lint, audit and secret-scan reports.

Each parser reads one tool's real output format and returns a small frozen value, or raises
:class:`ArtifactError` naming the file and what is wrong with it. A report that cannot be
read is never a pass: an empty, cut-short, mistyped or hostile file is a failed check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["ArtifactError", "load_json", "read_bytes", "validated", "validation_problem"]

_Model = TypeVar("_Model", bound=BaseModel)
_SHOWN_VALUE_CHARS = 60


class ArtifactError(Exception):
    """An artifact cannot be trusted. ``str()`` names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def read_bytes(path: Path) -> bytes:
    """The whole file; an unreadable or empty file is an :class:`ArtifactError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(path, "no such file: the step that writes it did not run or wrote elsewhere") from None
    except OSError as exc:
        raise ArtifactError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise ArtifactError(path, "empty file")
    return data


def load_json(path: Path) -> Any:
    """Parse a whole JSON document. Empty, cut-short or non-UTF-8 files raise :class:`ArtifactError`."""
    data = read_bytes(path)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ArtifactError(path, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(data.rstrip()) or exc.msg.startswith("Unterminated string")
        ending = " (the file ends early: cut short?)" if at_end else ""
        raise ArtifactError(
            path, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}{ending}"
        ) from None
    except RecursionError:
        # The JSON cousin of an entity bomb: arrays nested deeper than the parser's stack.
        raise ArtifactError(path, "JSON nested too deeply to parse (a nesting bomb?)") from None
    except ValueError as exc:
        # An integer longer than Python converts (sys.get_int_max_str_digits()).
        raise ArtifactError(path, f"not usable JSON: {exc}") from None


def _is_union_tag(part: int | str) -> bool:
    # pydantic names the union member it tried inside ``loc``: a model class (ours are
    # private, "_NpmVia") or a plain type ("str"). Neither is a key of the document.
    return isinstance(part, str) and (part in _TYPE_TAGS or (part[:1] == "_" and part[1:2].isupper()))


_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict"})


def _location(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc if not _is_union_tag(part)]
    return ".".join([prefix] * bool(prefix) + parts) or "(top level)"


def validation_problem(exc: ValidationError, *, show_values: bool = True, prefix: str = "") -> str:
    """The first problem pydantic found, as ``<prefix>.<field path>: <what is wrong>``.

    ``show_values=False`` names only the type of a bad value, for reports that may carry
    secrets (a gitleaks finding's ``Secret``).
    """
    errors = exc.errors()
    first = errors[0]
    where = _location(prefix, first["loc"])
    if first["type"] == "missing":
        problem = f"{where}: missing field"
    else:
        value = first.get("input")
        shown = repr(value)[:_SHOWN_VALUE_CHARS] if show_values else f"a {type(value).__name__}"
        problem = f"{where}: {first['msg']} (got {shown})"
    more = len(errors) - 1
    return problem + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def validated(model: type[_Model], data: Any, path: Path, *, show_values: bool = True) -> _Model:
    """``data`` as ``model``; a shape or type mismatch is an :class:`ArtifactError` naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ArtifactError(path, validation_problem(exc, show_values=show_values)) from None
