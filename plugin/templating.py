"""Filling ``{name}`` template variables and ``${NAME}`` environment references in argv."""

from __future__ import annotations

import re
from collections.abc import Mapping

_REFERENCE = re.compile(r"\$\{(?P<env>[A-Za-z_][A-Za-z0-9_]*)\}|\{(?P<var>[a-z_][a-z0-9_]*)\}|\{\{|\}\}")
_MAX_DEPTH = 8


class TemplateError(Exception):
    """A reference cannot be filled; the message names it."""


def render(
    text: str,
    variables: Mapping[str, str],
    environ: Mapping[str, str],
    *,
    strict: bool = True,
    _depth: int = 0,
) -> str:
    """Fill references in ``text``. Variables may themselves hold references.

    With ``strict=False`` an unset environment variable is shown as ``<unset:NAME>``
    instead of raising, which is what a plan wants to print.
    """
    if _depth > _MAX_DEPTH:
        raise TemplateError(f"template variables nest deeper than {_MAX_DEPTH}: {text!r}")

    def fill(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "{{":
            return "{"
        if found == "}}":
            return "}"
        env_name = match.group("env")
        if env_name is not None:
            if env_name in environ:
                return environ[env_name]
            if strict:
                raise TemplateError(f"environment variable {env_name} is not set")
            return f"<unset:{env_name}>"
        var = match.group("var")
        if var not in variables:
            known = ", ".join(sorted(variables)) or "none"
            raise TemplateError(f"unknown template variable {{{var}}}; known: {known}")
        return render(variables[var], variables, environ, strict=strict, _depth=_depth + 1)

    return _REFERENCE.sub(fill, text)


def env_references(text: str) -> list[str]:
    """The environment variable names ``text`` refers to directly."""
    return [m.group("env") for m in _REFERENCE.finditer(text) if m.group("env")]
