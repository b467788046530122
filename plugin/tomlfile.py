"""Reading a TOML settings file and describing what is wrong with it, one way for every file.

``release.toml``, the checklist and the suites' own files all report problems the same way:
the file, then the dotted key, then what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


def read_toml(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The parsed file, or ``error`` with a message naming the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not valid TOML: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None


def validation_lines(exc: ValidationError, prefix: str = "") -> list[str]:
    """One ``  key.path: message`` line per problem pydantic found."""
    head = prefix.split(".") if prefix else []
    lines = []
    for problem in exc.errors():
        key = ".".join(str(part) for part in [*head, *problem["loc"]])
        lines.append(f"  {key or '(top level)'}: {problem['msg']}")
    return lines
