"""The Lighthouse runner: real Lighthouse 12.2.3 in the system Chromium, on a loopback page.

Three real Lighthouse runs in all (two of a good page in parallel, one of a page that answers
500); the failure paths that need no browser use a small Node script in place of the CLI.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lighthouse.runner import RunnerConfig, read_lhr, run_lighthouse, run_once, url_slug


def test_two_real_runs_in_parallel_write_json_and_html(site: str, tmp_path: Path) -> None:
    config = RunnerConfig(output_dir=tmp_path / "out", runs=2, parallel=2, timeout_s=120)
    url = f"{site}/plain.html"
    results = run_lighthouse([url], config)
    assert [r.index for r in results] == [1, 2]
    for result in results:
        assert result.ok, f"{result.error}\n{result.output_tail}"
        assert result.returncode == 0
        assert result.json_path == tmp_path / "out" / url_slug(url) / f"run-{result.index}.report.json"
        assert "<!doctype html>" in result.html_path.read_text(encoding="utf-8")
        lhr = read_lhr(result.json_path)
        assert lhr["lighthouseVersion"] == "12.2.3"
        assert "pwa" not in lhr["categories"]
        assert 0 <= result.scores()["performance"] <= 1  # type: ignore[operator]
        assert result.argv[2] == url


def test_a_page_that_never_loads_is_a_failed_run(site: str, tmp_path: Path) -> None:
    result = run_once(RunnerConfig(output_dir=tmp_path, timeout_s=120), f"{site}/broken", 1)
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("runtimeError ERRORED_DOCUMENT_REQUEST"), result.error
    assert result.returncode != 0
    assert result.lhr is not None  # the report is kept, and the run still counts as failed
    assert result.json_path.is_file()


def _fake_cli(tmp_path: Path, body: str) -> Path:
    """A Node script taking the CLI's place: finds --output-path and runs ``body``."""
    script = tmp_path / "fake-lighthouse.mjs"
    script.write_text(
        "import fs from 'node:fs';\n"
        "const base = process.argv.find((a) => a.startsWith('--output-path=')).slice('--output-path='.length);\n"
        + body,
        encoding="utf-8",
    )
    return script


def test_unreadable_json_with_exit_0_is_a_failure(tmp_path: Path) -> None:
    cli = _fake_cli(tmp_path, "fs.writeFileSync(base + '.report.json', '{\"audits\": {');\n")
    result = run_once(RunnerConfig(output_dir=tmp_path / "out", cli=cli), "http://127.0.0.1:9/", 1)
    assert result.returncode == 0
    assert not result.ok
    assert "not valid JSON" in (result.error or ""), result.error


def test_json_that_is_not_an_lhr_is_a_failure(tmp_path: Path) -> None:
    cli = _fake_cli(tmp_path, "fs.writeFileSync(base + '.report.json', '[1, 2]');\n")
    result = run_once(RunnerConfig(output_dir=tmp_path / "out", cli=cli), "http://127.0.0.1:9/", 1)
    assert "not a Lighthouse result" in (result.error or ""), result.error


def test_non_zero_exit_is_a_failure_even_with_a_good_report(tmp_path: Path) -> None:
    lhr = json.dumps({"audits": {}, "categories": {"performance": {"score": 1}}})
    cli = _fake_cli(tmp_path, f"fs.writeFileSync(base + '.report.json', {json.dumps(lhr)});\nprocess.exit(3);\n")
    result = run_once(RunnerConfig(output_dir=tmp_path / "out", cli=cli), "http://127.0.0.1:9/", 1)
    assert result.returncode == 3
    assert result.error == "lighthouse exited 3"


def test_timeout_is_a_failure(tmp_path: Path) -> None:
    cli = _fake_cli(tmp_path, "setTimeout(() => {}, 30000);\n")
    started = time.monotonic()
    result = run_once(RunnerConfig(output_dir=tmp_path / "out", cli=cli, timeout_s=1), "http://127.0.0.1:9/", 1)
    assert time.monotonic() - started < 10
    assert result.returncode is None
    assert result.error == "timed out after 1s"


def test_runs_go_in_parallel_up_to_the_limit(tmp_path: Path) -> None:
    lhr = json.dumps({"audits": {}, "categories": {}})
    cli = _fake_cli(tmp_path, f"setTimeout(() => fs.writeFileSync(base + '.report.json', {json.dumps(lhr)}), 1000);\n")
    config = RunnerConfig(output_dir=tmp_path / "out", cli=cli, runs=2, parallel=2)
    started = time.monotonic()
    results = run_lighthouse(["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"], config)
    wall = time.monotonic() - started
    assert all(r.ok for r in results), [r.error for r in results]
    assert [(r.url[-1], r.index) for r in results] == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    serial = sum(r.duration_s for r in results)
    assert wall < serial * 0.75, (wall, serial)


def test_url_slugs_keep_query_and_fragment_apart() -> None:
    a = url_slug("http://127.0.0.1:17102/?tenant=a#/menu")
    b = url_slug("http://127.0.0.1:17102/?tenant=b#/menu")
    assert a != b
    assert "/" not in a
