"""SBOMs: a CycloneDX JSON and an SPDX JSON document of the release, valid and of its version.

- CycloneDX: validated against the schema of its own ``specVersion`` with
  cyclonedx-python-lib's strict JSON validator (unknown properties are errors); the BOM's
  ``metadata.component.version`` must be the release's version, and it lists components.
  The ``iri`` and ``iri-reference`` formats are checked by :func:`is_iri` (RFC 3987's mapping
  to a URI, then the RFC 3986 grammar) instead of jsonschema's default, an Earley parser
  that took about 19 s of a release run for the sandbox SBOM's 791 package links.
- SPDX (2.2 or 2.3 JSON): parsed and validated with spdx-tools; the package(s) the
  document ``DESCRIBES`` must carry the release's version in ``versionInfo``.

Every problem is an :class:`~checks.artifacts.ArtifactError` naming the file and what is
wrong (the first few schema errors, each with its JSON path).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from rfc3986_validator import validate_rfc3986

from checks.artifacts import ArtifactError

_SHOWN_ERRORS: Final = 5


def _bare(version: str) -> str:
    return version[1:] if version.startswith("v") else version


def _load_json(path: Path, kind: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(path, f"the {kind} SBOM does not exist (was it generated?)") from None
    except OSError as exc:
        raise ArtifactError(path, f"cannot read the {kind} SBOM: {exc.strerror or exc}") from None
    if not raw.strip():
        raise ArtifactError(path, f"the {kind} SBOM is empty")
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ArtifactError(path, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(
            path, f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(document, dict):
        raise ArtifactError(path, f"the {kind} SBOM is a JSON {type(document).__name__}, not an object")
    return document


@dataclass(frozen=True)
class SbomSummary:
    format: str  # "CycloneDX 1.6", "SPDX-2.3"
    name: str
    version: str
    packages: int


def _json_path(error: Any) -> str:
    path = getattr(error, "json_path", None)
    return str(path) if path else "$"


# RFC 3987 section 2.2: the non-ASCII characters an IRI may hold, and the private-use ones
# that only its query may hold.
_UCSCHAR: Final = (
    (0xA0, 0xD7FF),
    (0xF900, 0xFDCF),
    (0xFDF0, 0xFFEF),
    *((plane << 16, (plane << 16) | 0xFFFD) for plane in range(1, 14)),
    (0xE1000, 0xEFFFD),
)
_IPRIVATE: Final = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD))


def _within(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def is_iri(value: object, *, reference: bool = False) -> bool:
    """Whether ``value`` is an IRI (or, with ``reference``, an IRI reference) by RFC 3987.

    Every non-ASCII character must be a ``ucschar`` (``iprivate`` only inside the query);
    the IRI is then mapped to a URI as RFC 3987 section 3.1 says (its UTF-8 octets
    percent-encoded) and the URI is matched against the RFC 3986 grammar. Non-strings pass,
    as jsonschema's format checks do.
    """
    if not isinstance(value, str):
        return True
    query_start = value.find("?")
    fragment_start = value.find("#")
    if 0 <= fragment_start < query_start:
        query_start = -1
    mapped = []
    for index, char in enumerate(value):
        code = ord(char)
        if code < 0x80:
            mapped.append(char)
            continue
        in_query = 0 <= query_start < index and (fragment_start < 0 or index < fragment_start)
        if not (_within(code, _UCSCHAR) or (in_query and _within(code, _IPRIVATE))):
            return False
        mapped.append("".join(f"%{octet:02X}" for octet in char.encode("utf-8")))
    uri = "".join(mapped)
    match = validate_rfc3986(uri, rule="URI_reference" if reference else "URI")
    # The grammar ends in ``$``, which also matches before a final newline: the whole string must match.
    return match is not None and match.end() == len(uri)


@cache
def _cyclonedx_validator(spec: str) -> Any:
    """The strict CycloneDX validator of ``spec``, with the quick IRI format checks."""
    from cyclonedx.schema import SchemaVersion  # noqa: PLC0415 - heavy; only when an SBOM is checked
    from cyclonedx.validation.json import JsonStrictValidator  # noqa: PLC0415
    from jsonschema import Draft7Validator, FormatChecker  # noqa: PLC0415

    checker = FormatChecker(formats=())
    checker.checkers = {
        **Draft7Validator.FORMAT_CHECKER.checkers,
        "iri": (is_iri, ()),
        "iri-reference": (lambda value: is_iri(value, reference=True), ()),
    }
    # cyclonedx-python-lib (pinned in pyproject.toml) builds its schema and reference
    # registry in ``_validator``; only its format checker is swapped here.
    return JsonStrictValidator(SchemaVersion.from_version(spec))._validator.evolve(format_checker=checker)


def check_cyclonedx(path: Path, release: str) -> SbomSummary:
    from cyclonedx.schema import SchemaVersion  # noqa: PLC0415 - heavy; only when an SBOM is checked

    document = _load_json(path, "CycloneDX")
    if document.get("bomFormat") != "CycloneDX":
        raise ArtifactError(path, f"bomFormat is {document.get('bomFormat')!r}, not 'CycloneDX'")
    spec = document.get("specVersion")
    if not isinstance(spec, str):
        raise ArtifactError(path, "specVersion is missing: the schema to validate against is unknown")
    try:
        SchemaVersion.from_version(spec)
    except (ValueError, KeyError):
        raise ArtifactError(path, f"specVersion {spec!r} is not a CycloneDX version this validator knows") from None
    try:
        validator = _cyclonedx_validator(spec)
    except (NotImplementedError, ValueError):  # CycloneDX 1.0 and 1.1 were XML only: no JSON schema
        raise ArtifactError(path, f"CycloneDX {spec} has no JSON schema: a JSON SBOM must be 1.2 or later") from None
    found = list(validator.iter_errors(document))
    if found:
        shown = [f"{_json_path(e)}: {e.message}" for e in found[:_SHOWN_ERRORS]]
        more = f" (and {len(found) - len(shown)} more)" if len(found) > len(shown) else ""
        raise ArtifactError(path, f"not valid CycloneDX {spec} (strict schema): " + "; ".join(shown) + more)
    component = document.get("metadata", {}).get("component")
    if not isinstance(component, dict):
        raise ArtifactError(path, "metadata.component is missing: the SBOM does not say what it describes")
    version = component.get("version")
    if version is None:
        raise ArtifactError(path, "metadata.component.version is missing")
    if _bare(str(version)) != _bare(release):
        raise ArtifactError(
            path, f"metadata.component.version is {version!r}, but the release is {release}: an SBOM of another version"
        )
    components = document.get("components") or []
    if not components:
        raise ArtifactError(path, "the SBOM lists no components")
    return SbomSummary(f"CycloneDX {spec}", str(component.get("name", "")), str(version), len(components))


def check_spdx(path: Path, release: str) -> SbomSummary:
    from spdx_tools.spdx.model.relationship import RelationshipType  # noqa: PLC0415 - heavy; only when needed
    from spdx_tools.spdx.parser.error import SPDXParsingError  # noqa: PLC0415
    from spdx_tools.spdx.parser.jsonlikedict.json_like_dict_parser import JsonLikeDictParser  # noqa: PLC0415
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document  # noqa: PLC0415

    document = _load_json(path, "SPDX")
    spdx_version = document.get("spdxVersion")
    if spdx_version not in {"SPDX-2.2", "SPDX-2.3"}:
        raise ArtifactError(path, f"spdxVersion is {spdx_version!r}: expected SPDX-2.2 or SPDX-2.3 JSON")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the library's own deprecation notices are not findings
            parsed = JsonLikeDictParser().parse(document)  # type: ignore[no-untyped-call]
    except SPDXParsingError as exc:
        messages: list[str] = exc.get_messages()  # type: ignore[no-untyped-call]
        more = f" (and {len(messages) - _SHOWN_ERRORS} more)" if len(messages) > _SHOWN_ERRORS else ""
        raise ArtifactError(path, "not a valid SPDX document: " + "; ".join(messages[:_SHOWN_ERRORS]) + more) from None
    problems = validate_full_spdx_document(parsed)
    if problems:
        shown = [p.validation_message for p in problems[:_SHOWN_ERRORS]]
        more = f" (and {len(problems) - _SHOWN_ERRORS} more)" if len(problems) > _SHOWN_ERRORS else ""
        raise ArtifactError(path, f"{spdx_version} validation failed: " + "; ".join(shown) + more)
    described_ids = {
        r.related_spdx_element_id
        for r in parsed.relationships
        if r.spdx_element_id == parsed.creation_info.spdx_id and r.relationship_type == RelationshipType.DESCRIBES
    }
    described = [p for p in parsed.packages if p.spdx_id in described_ids]
    if not described:
        raise ArtifactError(path, "the document DESCRIBES no package: it does not say what it is the SBOM of")
    wrong = [p for p in described if _bare(str(p.version or "")) != _bare(release)]
    if wrong:
        listed = ", ".join(f"{p.name} {p.version!r}" for p in wrong)
        raise ArtifactError(
            path,
            f"the described package has versionInfo {listed}; the release is {release}: an SBOM of another version",
        )
    if len(parsed.packages) <= len(described):
        raise ArtifactError(path, "the SBOM lists no packages besides the one it describes")
    return SbomSummary(spdx_version, parsed.creation_info.name, str(described[0].version), len(parsed.packages))
