"""Masking of secrets in anything the gate prints, records or attaches.

Three kinds of secret are recognised: the values of environment variables a target names
as secrets (or whose names say they are secret), credentials inside URLs, and tokens with
well-known shapes. The masker is applied to argv, action output, ledger records, the plan,
pytest's failure reports and captured output, and Allure results.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

MASK: Final = "***"
# Environment variable names that hold secrets whatever the configuration says.
SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|PRIVATE|API_?KEY|(^|_)KEY($|_)|DSN|CREDENTIAL|WEBHOOK)", re.I
)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@", re.I)
_TOKEN_SHAPES = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|sbp_[A-Za-z0-9]{20,}|sk_(?:live|test)_[A-Za-z0-9]{16,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})\b"
)
_BEARER = re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_MIN_SECRET_LEN: Final = 4
_MIN_LINE_LEN: Final = 8  # lines of a multi-line secret (a PEM key) are masked one by one


def _forms(value: str) -> set[str]:
    """The ways a secret appears in output: as is, escaped (repr, JSON), and line by line."""
    if len(value) < _MIN_SECRET_LEN:
        return set()
    forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1]}
    if "\n" in value:
        forms |= {line.strip() for line in value.splitlines() if len(line.strip()) >= _MIN_LINE_LEN}
    return {form for form in forms if len(form) >= _MIN_SECRET_LEN}


@dataclass(frozen=True, slots=True)
class Masker:
    """Replaces every known secret in a text by ``***``."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, secret_names: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> Masker:
        env = os.environ if environ is None else environ
        names = set(secret_names) | {name for name in env if SECRET_NAME.search(name)}
        return cls().with_secrets(env.get(name, "") for name in names)

    def with_secrets(self, values: Iterable[str]) -> Masker:
        merged = set(self.secrets)
        for value in values:
            merged |= _forms(value)
        # Longest first, so a secret that contains another is masked whole.
        return Masker(tuple(sorted(merged, key=len, reverse=True)))

    def mask(self, text: str) -> str:
        text = self._mask_known(text)
        text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
        text = _TOKEN_SHAPES.sub(MASK, text)
        return _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)

    def _mask_known(self, text: str) -> str:
        """Mask every occurrence of every secret; overlapping ones are masked as one span."""
        spans: list[tuple[int, int]] = []
        for secret in self.secrets:
            start = text.find(secret)
            while start != -1:
                spans.append((start, start + len(secret)))
                start = text.find(secret, start + 1)
        if not spans:
            return text
        spans.sort()
        merged = [spans[0]]
        for start, end in spans[1:]:
            last_start, last_end = merged[-1]
            if start <= last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        pieces, cursor = [], 0
        for start, end in merged:
            pieces += [text[cursor:start], MASK]
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def mask_argv(self, argv: Iterable[str]) -> list[str]:
        return [self.mask(arg) for arg in argv]


_MAX_DEPTH: Final = 16


def mask_structure(
    value: Any, mask: Callable[[str], str], owners: tuple[str, ...] = ("_pytest", "pytest"), depth: int = 0
) -> Any:
    """Mask every string inside a report structure, keeping the structure.

    Strings in lists, tuples and dicts are masked, and so are the attributes of objects
    defined in the ``owners`` packages: pytest's failure representations (so a masked report
    still renders as pytest renders it), allure-commons' result objects, ledger records.
    """
    if isinstance(value, str):
        return mask(value)
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [mask_structure(v, mask, owners, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_structure(v, mask, owners, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: mask_structure(v, mask, owners, depth + 1) for k, v in value.items()}
    if hasattr(value, "__dict__") and type(value).__module__.startswith(owners):
        for name, field_value in vars(value).items():
            object.__setattr__(value, name, mask_structure(field_value, mask, owners, depth + 1))
    return value
