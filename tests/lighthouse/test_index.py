"""The index of a Lighthouse measurement (``lighthouse/index.py``), read back by the archive."""

from __future__ import annotations

import json
from pathlib import Path

from checks.post_release import lighthouse_files
from lighthouse.index import index_entries, write_index
from lighthouse.runner import RunResult


def _run(folder: Path, index: int, *, html: bool = True) -> RunResult:
    base = folder / "127.0.0.1_41234" / f"run-{index}"
    base.parent.mkdir(parents=True, exist_ok=True)
    json_path, html_path = base.with_suffix(".report.json"), base.with_suffix(".report.html")
    json_path.write_text('{"categories": {}}', encoding="utf-8")
    if html:
        html_path.write_text("<html></html>", encoding="utf-8")
    return RunResult("http://127.0.0.1:41234/", index, json_path, html_path, (), 1.0, 0, lhr={"categories": {}})


def test_the_index_lists_each_report_and_the_archive_takes_exactly_those(tmp_path: Path) -> None:
    runs = [_run(tmp_path, 1), _run(tmp_path, 2)]
    (tmp_path / "127.0.0.1_9999").mkdir()
    (tmp_path / "127.0.0.1_9999" / "stale.report.json").write_text("{}", encoding="utf-8")
    files, problems = index_entries(tmp_path, runs)
    assert problems == []
    assert [entry["path"] for entry in files] == [
        "127.0.0.1_41234/run-1.report.json",
        "127.0.0.1_41234/run-1.report.html",
        "127.0.0.1_41234/run-2.report.json",
        "127.0.0.1_41234/run-2.report.html",
    ]
    index = write_index(tmp_path, runs, files, "v0.1.0", "run-1")
    document = json.loads(index.read_text(encoding="utf-8"))
    assert (document["version"], document["run_id"], len(document["runs"])) == ("v0.1.0", "run-1", 2)
    names = [name for _, name in lighthouse_files(tmp_path, "v0.1.0")]
    assert names == ["index.json", *(entry["path"] for entry in files)]


def test_a_missing_or_outside_report_is_a_problem(tmp_path: Path) -> None:
    inside = tmp_path / "reports"
    missing_html = _run(inside, 1, html=False)
    outside = _run(tmp_path / "elsewhere", 2)
    files, problems = index_entries(inside, [missing_html, outside])
    assert [entry["path"] for entry in files] == ["127.0.0.1_41234/run-1.report.json"]
    assert len(problems) == 3
    assert "run-1.report.html is missing or empty" in problems[0]
    assert all("is outside" in problem for problem in problems[1:])
