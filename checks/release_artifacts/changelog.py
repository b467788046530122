"""``CHANGELOG.md`` in the Keep a Changelog 1.1.0 form: the release's own dated section.

The release ``vX.Y.Z`` needs a heading ``## [X.Y.Z] - YYYY-MM-DD`` (a real date, not in the
future), it must be the newest release in the file, not yanked, and have notes: at least
one item under one of the change types (Added, Changed, Deprecated, Removed, Fixed,
Security). Notes left under ``## [Unreleased]`` do not count; that case is named as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from checks.artifacts import ArtifactError

CHANGE_TYPES: Final = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
_HEADING: Final = re.compile(r"^##(?!#)\s*(?P<rest>.*?)\s*$")
_RELEASE: Final = re.compile(
    r"^\[(?P<version>[^\]]+)\](?:\s+-\s+(?P<date>\S+))?(?P<yanked>\s+\[YANKED\])?(?P<extra>.*)$", re.IGNORECASE
)
_UNRELEASED: Final = re.compile(r"^\[?unreleased\]?", re.IGNORECASE)
_SUBHEADING: Final = re.compile(r"^###(?!#)\s*(?P<name>.+?)\s*$")
_ITEM: Final = re.compile(r"^\s*[-*+]\s+\S")
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Section:
    title: str  # the heading after "## "
    line: int
    version: str | None = None
    date_text: str | None = None
    yanked: bool = False
    extra: str = ""
    body: list[str] = field(default_factory=list)

    def notes(self) -> dict[str, list[str]]:
        """Items per change type; items under no known type go under ``""``."""
        found: dict[str, list[str]] = {}
        current = ""
        for text in self.body:
            sub = _SUBHEADING.match(text)
            if sub:
                current = sub["name"].strip().title()
                continue
            if _ITEM.match(text):
                found.setdefault(current, []).append(text.strip()[1:].strip())
        return found


@dataclass(frozen=True)
class ReleaseNotes:
    version: str
    date: date
    line: int
    notes: dict[str, list[str]]

    @property
    def items(self) -> int:
        return sum(len(v) for k, v in self.notes.items() if k in CHANGE_TYPES)


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(path, "the changelog does not exist") from None
    except OSError as exc:
        raise ArtifactError(path, f"cannot read the changelog: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(path, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise ArtifactError(path, "the changelog is empty")
    return text


def sections(path: Path) -> list[Section]:
    """The ``## `` sections of the file, in order, outside fenced code blocks."""
    found: list[Section] = []
    fenced = False
    for number, text in enumerate(_read(path).splitlines(), start=1):
        if text.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(text)
        if heading:
            section = Section(title=heading["rest"], line=number)
            release = _RELEASE.match(heading["rest"])
            if release and release["version"].strip().lower() != "unreleased":
                section.version = release["version"].strip()
                section.date_text = release["date"]
                section.yanked = bool(release["yanked"])
                section.extra = release["extra"].strip()
            found.append(section)
        elif found:
            found[-1].body.append(text)
    return found


def _is_unreleased(title: str) -> bool:
    return bool(_UNRELEASED.match(title))


def _bare(version: str) -> str:
    return version[1:] if version.startswith("v") else version


def _release_date(path: Path, section: Section, wanted: str, today: date | None) -> date:
    """The section heading's date, once the heading is exactly ``## [X.Y.Z] - YYYY-MM-DD``."""
    where = f"line {section.line}"
    if section.version != wanted:
        raise ArtifactError(path, f"{where}: the heading says [{section.version}]; write [{wanted}] without the 'v'")
    if section.date_text is None:
        raise ArtifactError(path, f"{where}: '## [{wanted}]' has no date; write '## [{wanted}] - YYYY-MM-DD'")
    if not _ISO_DATE.match(section.date_text):
        raise ArtifactError(path, f"{where}: the date {section.date_text!r} is not YYYY-MM-DD")
    try:
        released = date.fromisoformat(section.date_text)
    except ValueError:
        raise ArtifactError(path, f"{where}: {section.date_text!r} is not a real date") from None
    if section.yanked:
        raise ArtifactError(path, f"{where}: {wanted} is marked [YANKED]")
    if section.extra:
        raise ArtifactError(path, f"{where}: unexpected text after the date: {section.extra!r}")
    limit = (today or datetime.now(UTC).date()) + timedelta(days=1)
    if released > limit:
        raise ArtifactError(path, f"{where}: the release date {released} is in the future")
    return released


def release_notes(path: Path, version: str, *, today: date | None = None) -> ReleaseNotes:
    """The dated, non-empty section of ``version`` (``vX.Y.Z`` or ``X.Y.Z``), or an error."""
    wanted = _bare(version)
    all_sections = sections(path)
    if not all_sections:
        raise ArtifactError(path, "no '## ' sections: not a Keep a Changelog file")
    releases = [s for s in all_sections if s.version is not None]
    mine = [s for s in releases if _bare(s.version or "") == wanted]
    if not mine:
        unreleased = next((s for s in all_sections if _is_unreleased(s.title)), None)
        if unreleased is not None and any(wanted in text for text in [unreleased.title, *unreleased.body]):
            raise ArtifactError(
                path,
                f"{wanted} appears only under [Unreleased] (line {unreleased.line}); move its notes into a "
                f"'## [{wanted}] - YYYY-MM-DD' section",
            )
        if unreleased is not None and any(unreleased.notes().values()):
            raise ArtifactError(
                path,
                f"no '## [{wanted}] - YYYY-MM-DD' section: the release notes are still under [Unreleased] "
                f"(line {unreleased.line})",
            )
        newest = releases[0].version if releases else "none"
        raise ArtifactError(path, f"no '## [{wanted}] - YYYY-MM-DD' section (newest release listed: {newest})")
    if len(mine) > 1:
        raise ArtifactError(path, f"{wanted} has {len(mine)} sections (lines {', '.join(str(s.line) for s in mine)})")
    section = mine[0]
    released = _release_date(path, section, wanted, today)
    if releases[0] is not section:
        raise ArtifactError(
            path,
            f"line {section.line}: a newer release [{releases[0].version}] is listed above {wanted} "
            f"(line {releases[0].line})",
        )
    notes = ReleaseNotes(wanted, released, section.line, section.notes())
    where = f"line {section.line}"
    if notes.items == 0:
        stray = sum(len(v) for k, v in notes.notes.items() if k not in CHANGE_TYPES)
        hint = f" ({stray} items outside them)" if stray else ""
        raise ArtifactError(path, f"{where}: {wanted} has no release notes under {', '.join(CHANGE_TYPES)}{hint}")
    return notes
