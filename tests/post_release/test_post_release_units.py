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
    files = files_to_archive(source, required=("index.json",))
    assert [name for _, name in files] == ["deep/run-1.json", "index.json"]
    archive(files, "lighthouse", tmp_path / "archive")
    assert verify_sums(tmp_path / "archive" / "lighthouse") == []
    (tmp_path / "archive" / "lighthouse" / "index.json").write_text("{ }", encoding="utf-8")
    (problem,) = verify_sums(tmp_path / "archive" / "lighthouse")
    assert "index.json: SHA-256" in problem


def _lighthouse_folder(tmp_path: Path) -> Path:
    """A report of this release listed in index.json, and one of an earlier run beside it."""
    folder = tmp_path / "lighthouse"
    (folder / "127.0.0.1_17102").mkdir(parents=True)
    (folder / "127.0.0.1_20002").mkdir()
    report = folder / "127.0.0.1_17102" / "run-1.report.json"
    report.write_text('{"audits": {}}', encoding="utf-8")
    (folder / "127.0.0.1_20002" / "run-1.report.json").write_text("{}", encoding="utf-8")
    entry = {"path": "127.0.0.1_17102/run-1.report.json", "sha256": hashlib.sha256(report.read_bytes()).hexdigest()}
    (folder / "index.json").write_text(json.dumps({"runs": [], "files": [entry]}), encoding="utf-8")
    return folder


def test_lighthouse_archive_is_what_the_index_lists(tmp_path: Path) -> None:
    folder = _lighthouse_folder(tmp_path)
    assert [name for _, name in lighthouse_files(folder)] == ["index.json", "127.0.0.1_17102/run-1.report.json"]


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ("remove_index", "index.json: no such file"),
        ("corrupt_index", "index.json: not valid JSON"),
        ("no_files", "lists no files"),
        ("bad_entry", "files[0] is not an object with a path and a sha256"),
        ("outside", "is outside"),
        ("remove_report", "listed in index.json, but missing"),
        ("change_report", "SHA-256 differs from index.json"),
    ],
)
def test_lighthouse_archive_refuses_an_index_it_cannot_trust(tmp_path: Path, change: str, needle: str) -> None:
    folder = _lighthouse_folder(tmp_path)
    index = folder / "index.json"
    report = folder / "127.0.0.1_17102" / "run-1.report.json"
    entry = json.loads(index.read_text(encoding="utf-8"))["files"][0]
    if change == "remove_index":
        index.unlink()
    elif change == "corrupt_index":
        index.write_text('{"files": [', encoding="utf-8")
    elif change == "no_files":
        index.write_text('{"runs": []}', encoding="utf-8")
    elif change == "bad_entry":
        index.write_text('{"files": ["127.0.0.1_17102/run-1.report.json"]}', encoding="utf-8")
    elif change == "outside":
        index.write_text(json.dumps({"files": [{**entry, "path": "../elsewhere.json"}]}), encoding="utf-8")
    elif change == "remove_report":
        report.unlink()
    else:
        report.write_text('{"audits": {"edited": true}}', encoding="utf-8")
    with pytest.raises(ArtifactError, match=re.escape(needle)):
        lighthouse_files(folder)


def test_a_missing_source_artifact_is_named(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ArtifactError, match=r"index\.json: no such file"):
        files_to_archive(tmp_path, required=("index.json",))
    with pytest.raises(ArtifactError, match="no such folder"):
        files_to_archive(tmp_path / "gone")


def test_incidents_of_the_release_and_an_unreadable_record(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"id": "a", "title": "Rollback of v0.1.0 on sandbox/staging"}', "utf-8")
    (tmp_path / "b.json").write_text('{"id": "b", "title": "Rollback of v0.1.01 on sandbox/staging"}', "utf-8")
    assert [i["id"] for i in release_incidents(tmp_path, "v0.1.0")] == ["a"]
    assert release_incidents(tmp_path / "none", "v0.1.0") == []
    (tmp_path / "c.json").write_text("{torn", "utf-8")
    with pytest.raises(ArtifactError, match="unreadable incident record"):
        release_incidents(tmp_path, "v0.1.0")
