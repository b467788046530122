"""The post-release logic without a platform: the changelog check, archives, incident records."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from checks.artifacts import ArtifactError
from checks.artifacts.archive import archive
from checks.post_release import changelog_entries, files_to_archive, lighthouse_files, release_incidents, verify_sums


def test_changelog_section_of_the_release() -> None:
    text = "## [Unreleased]\n\n## [0.1.0] - 2026\n\n### Added\n\n- one\n- two\n\n## [0.0.9]\n\n- old\n"
    assert changelog_entries(text, "v0.1.0") == ["- one", "- two"]
    assert changelog_entries(text, "v0.2.0") == []


def test_archive_checksums_verify_and_a_change_is_caught(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "deep").mkdir(parents=True)
    (source / "index.json").write_text("{}", encoding="utf-8")
    (source / "deep" / "run-1.json").write_text("[1]", encoding="utf-8")
    (source / "SHA256SUMS").write_text("stale\n", encoding="utf-8")
    files = files_to_archive(source)
    assert [name for _, name in files] == ["deep/run-1.json", "index.json"]
    archive(files, "lighthouse", tmp_path / "archive")
    assert verify_sums(tmp_path / "archive" / "lighthouse") == []
    (tmp_path / "archive" / "lighthouse" / "index.json").write_text("{ }", encoding="utf-8")
    (problem,) = verify_sums(tmp_path / "archive" / "lighthouse")
    assert "index.json: SHA-256" in problem


def _index(folder: Path, version: str, *paths: str) -> dict[str, object]:
    files = [{"path": path, "sha256": hashlib.sha256((folder / path).read_bytes()).hexdigest()} for path in paths]
    document: dict[str, object] = {"version": version, "run_id": "r1", "runs": [], "files": files}
    (folder / "index.json").write_text(json.dumps(document), encoding="utf-8")
    return document


def _lighthouse_folder(tmp_path: Path) -> Path:
    """The candidate's report of this release listed in index.json, and one of an earlier run beside it."""
    folder = tmp_path / "lighthouse"
    (folder / "candidate" / "127.0.0.1_41234").mkdir(parents=True)
    (folder / "127.0.0.1_20002").mkdir()
    (folder / "candidate" / "127.0.0.1_41234" / "run-1.report.json").write_text('{"audits": {}}', encoding="utf-8")
    (folder / "127.0.0.1_20002" / "run-1.report.json").write_text("{}", encoding="utf-8")
    _index(folder, "v0.1.0", "candidate/127.0.0.1_41234/run-1.report.json")
    return folder


def test_lighthouse_archive_is_what_the_release_indexes_list(tmp_path: Path) -> None:
    folder = _lighthouse_folder(tmp_path)
    for env, version in (("production", "v0.1.0"), ("staging", "v0.0.9")):
        synthetic = folder / f"synthetic-{env}" / "127.0.0.1_18102"
        synthetic.mkdir(parents=True)
        (synthetic / "run-1.report.json").write_text("{}", encoding="utf-8")
        _index(folder / f"synthetic-{env}", version, "127.0.0.1_18102/run-1.report.json")
    assert [name for _, name in lighthouse_files(folder, "v0.1.0")] == [
        "index.json",
        "candidate/127.0.0.1_41234/run-1.report.json",
        "synthetic-production/index.json",
        "synthetic-production/127.0.0.1_18102/run-1.report.json",
    ]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ("remove_index", "index.json: no such file"),
        ("corrupt_index", "index.json: not valid JSON"),
        ("another_release", "indexes another release's runs, not v0.1.0's"),
        ("no_files", "lists no files"),
        ("bad_entry", "files[0] is not an object with a path and a sha256"),
        ("outside", "is outside"),
        ("remove_report", "but missing"),
        ("change_report", "SHA-256 differs from"),
        ("corrupt_synthetic_index", "synthetic-production/index.json: not valid JSON"),
    ],
)
def test_lighthouse_archive_refuses_an_index_it_cannot_trust(tmp_path: Path, change: str, needle: str) -> None:
    folder = _lighthouse_folder(tmp_path)
    index = folder / "index.json"
    report = folder / "candidate" / "127.0.0.1_41234" / "run-1.report.json"
    document = json.loads(index.read_text(encoding="utf-8"))
    if change == "remove_index":
        index.unlink()
    elif change == "corrupt_index":
        index.write_text('{"files": [', encoding="utf-8")
    elif change == "another_release":
        index.write_text(json.dumps({**document, "version": "v0.0.9"}), encoding="utf-8")
    elif change == "no_files":
        index.write_text(json.dumps({**document, "files": []}), encoding="utf-8")
    elif change == "bad_entry":
        index.write_text(json.dumps({**document, "files": ["candidate/x.json"]}), encoding="utf-8")
    elif change == "outside":
        entry = {"path": "../elsewhere.json", "sha256": "0" * 64}
        index.write_text(json.dumps({**document, "files": [entry]}), encoding="utf-8")
    elif change == "remove_report":
        report.unlink()
    elif change == "change_report":
        report.write_text('{"audits": {"edited": true}}', encoding="utf-8")
    else:
        (folder / "synthetic-production").mkdir()
        (folder / "synthetic-production" / "index.json").write_text("{", encoding="utf-8")
    with pytest.raises(ArtifactError, match=re.escape(needle)):
        lighthouse_files(folder, "v0.1.0")


def test_a_missing_or_empty_source_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such folder"):
        files_to_archive(tmp_path / "gone")
    with pytest.raises(ArtifactError, match="empty folder"):
        files_to_archive(tmp_path)


def test_incidents_of_the_release_and_an_unreadable_record(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"id": "a", "title": "Rollback of v0.1.0 on sandbox/staging"}', "utf-8")
    (tmp_path / "b.json").write_text('{"id": "b", "title": "Rollback of v0.1.01 on sandbox/staging"}', "utf-8")
    assert [i["id"] for i in release_incidents(tmp_path, "v0.1.0")] == ["a"]
    assert release_incidents(tmp_path / "none", "v0.1.0") == []
    (tmp_path / "c.json").write_text("{torn", "utf-8")
    with pytest.raises(ArtifactError, match="unreadable incident record"):
        release_incidents(tmp_path, "v0.1.0")
