"""Archiving artifacts with checksums, and the capture wrapper that keeps a tool's report."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from checks.artifacts import ArtifactError
from checks.artifacts.archive import SUMS_FILE, archive, checksum, ledger_event

CAPTURE = Path(__file__).resolve().parents[2] / "checks" / "artifacts" / "capture.py"


def test_archive_copies_and_records_checksums(tmp_path: Path) -> None:
    source = tmp_path / "ws" / "apps" / "web" / "coverage"
    source.mkdir(parents=True)
    (source / "lcov.info").write_bytes(b"TN:\nend_of_record\n")
    (source / "coverage-summary.json").write_text('{"total": {}}')
    files = [(source / name, f"apps/web/{name}") for name in ("lcov.info", "coverage-summary.json")]
    kept = archive(files, "coverage", tmp_path / "artifacts")
    folder = tmp_path / "artifacts" / "coverage"
    assert [item.path for item in kept] == [folder / "apps/web/lcov.info", folder / "apps/web/coverage-summary.json"]
    assert kept[0].sha256 == hashlib.sha256(b"TN:\nend_of_record\n").hexdigest()
    assert kept[0].bytes == 18
    assert (folder / SUMS_FILE).read_text() == "".join(f"{i.sha256}  apps/web/{i.path.name}\n" for i in kept)
    assert not list(folder.rglob("*.partial"))
    done = subprocess.run(
        ["sha256sum", "-c", SUMS_FILE], cwd=folder, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_file_already_in_place_is_checksummed_not_copied(tmp_path: Path) -> None:
    sbom = tmp_path / "artifacts" / "sbom" / "icupa.cdx.json"
    sbom.parent.mkdir(parents=True)
    sbom.write_text('{"bomFormat": "CycloneDX"}')
    (kept,) = archive([(sbom, "icupa.cdx.json")], "sbom", tmp_path / "artifacts")
    assert (kept.path, kept.sha256) == (sbom, checksum(sbom)[0])


def test_the_ledger_event(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("a")
    kept = archive([(source, "a.txt")], "coverage", tmp_path / "artifacts")
    event = ledger_event("coverage", kept, unit="validate/confirm")
    assert event == {
        "kind": "event",
        "event": "archived",
        "artifact_kind": "coverage",
        "files": [{"path": str(kept[0].path), "source": str(source), "sha256": kept[0].sha256, "bytes": 1}],
        "unit": "validate/confirm",
    }


def test_a_missing_source_is_an_artifact_error(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no such file to archive"):
        archive([(tmp_path / "absent.xml", "absent.xml")], "coverage", tmp_path / "artifacts")
    assert not list((tmp_path / "artifacts").rglob("*.partial"))


def test_a_name_cannot_leave_the_kind_folder(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("a")
    with pytest.raises(ArtifactError, match="leaves"):
        archive([(source, "../../escaped.txt")], "coverage", tmp_path / "artifacts")


# --- capture.py -------------------------------------------------------------------------------


def _capture(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CAPTURE), "--output", str(tmp_path / "out" / "report.json"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_capture_keeps_the_report_of_an_accepted_finding_exit(tmp_path: Path) -> None:
    script = "print('[1]'); raise SystemExit(1)"
    done = _capture(tmp_path, "--accept", "1", "--", sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "report.json").read_text() == "[1]\n"
    assert "exited 1" in done.stderr


def test_capture_fails_on_an_exit_code_that_is_not_a_report(tmp_path: Path) -> None:
    done = _capture(tmp_path, "--accept", "1", "--", sys.executable, "-c", "print('boom'); raise SystemExit(2)")
    assert done.returncode == 2
    assert "exit code 2 is not a report" in done.stderr


def test_capture_fails_when_nothing_was_written(tmp_path: Path) -> None:
    done = _capture(tmp_path, "--", sys.executable, "-c", "pass")
    assert done.returncode == 1
    assert "wrote no report" in done.stderr


def test_capture_reports_a_missing_command(tmp_path: Path) -> None:
    done = _capture(tmp_path, "--", "no-such-tool-anywhere")
    assert done.returncode == 127
    assert "not found on PATH" in done.stderr
    assert not list((tmp_path / "out").glob("*.partial"))


def test_capture_times_out(tmp_path: Path) -> None:
    done = _capture(tmp_path, "--timeout", "0.5", "--", sys.executable, "-c", "import time; time.sleep(30)")
    assert done.returncode == 124
    assert "timed out after 0.5s" in done.stderr
