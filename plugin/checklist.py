"""The runbook as data: the checklist file, and which of its items a run covers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from plugin.markers import SELECTION_MARKERS
from plugin.phases import Unit, resolve_unit
from plugin.tomlfile import read_toml, validation_lines

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    unit: Unit
    environments: frozenset[str]
    section: str
    text: str
    command: str | None = None


@dataclass(frozen=True, slots=True)
class Checklist:
    path: Path
    items: dict[str, ChecklistItem]

    def applying_to(self, selection: str) -> list[ChecklistItem]:
        return [item for item in self.items.values() if selection in item.environments]


class ChecklistError(Exception):
    """The checklist file cannot be used; the message names the file and the entry."""


def load_checklist(path: Path) -> Checklist:
    """Read and validate the checklist. Raises :class:`ChecklistError` naming file and entry."""
    from pydantic import ValidationError  # noqa: PLC0415 - pydantic only when there is a file

    from plugin.checklist_schema import ChecklistFile  # noqa: PLC0415 - same reason

    raw = read_toml(path, ChecklistError)
    try:
        model = ChecklistFile.model_validate(raw)
    except ValidationError as exc:
        raise ChecklistError(f"{path}: invalid checklist:\n" + "\n".join(validation_lines(exc))) from None
    if model.schema_ != 1:
        raise ChecklistError(f"{path}: schema {model.schema_} is not supported (expected 1)")
    items: dict[str, ChecklistItem] = {}
    for index, entry in enumerate(model.item):
        where = f"{path}: item[{index}] {entry.id!r}"
        if not _ID.match(entry.id):
            raise ChecklistError(f"{where}: id must match {_ID.pattern}")
        if entry.id in items:
            raise ChecklistError(f"{where}: duplicate id")
        if entry.id.split(".", 1)[0] != entry.phase:
            raise ChecklistError(f"{where}: id must start with its phase {entry.phase!r}")
        try:
            unit = resolve_unit(entry.phase, entry.step)
        except ValueError as exc:
            raise ChecklistError(f"{where}: {exc}") from None
        items[entry.id] = ChecklistItem(
            id=entry.id,
            unit=unit,
            environments=frozenset(entry.environments),
            section=entry.section,
            text=entry.text,
            command=entry.command,
        )
    return Checklist(path=path, items=items)


def uncovered(checklist: Checklist, covered_ids: Iterable[str], selections: Iterable[str]) -> list[ChecklistItem]:
    """Items that apply to any of ``selections`` and no selected test covers, in unit order."""
    wanted = set(selections) & set(SELECTION_MARKERS)
    covered = set(covered_ids)
    missing = [item for item in checklist.items.values() if item.environments & wanted and item.id not in covered]
    return sorted(missing, key=lambda i: (i.unit.rank, i.id))
