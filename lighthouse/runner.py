"""Run the pinned Lighthouse CLI (``lighthouse/package.json``) N times per URL.

Each run is one ``node .../lighthouse/cli/index.js URL`` process (argv list, no shell) with
its own timeout, writing ``<output_dir>/<url-slug>/run-<n>.report.json`` and ``.html``. Runs
go in parallel up to ``RunnerConfig.parallel`` processes.

A run is a **failure**, and is kept as one (never dropped, unlike Lighthouse CI's
``optimistic`` and ``median`` aggregations, which silently skip runs without a score), when:

- its LHR has a ``runtimeError`` (the page did not load, Chrome crashed, ...);
- the process exits non-zero or does not finish within its timeout;
- its JSON report is missing, unreadable, not JSON, or not an LHR object.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LIGHTHOUSE_DIR = Path(__file__).resolve().parent
LIGHTHOUSE_CLI = LIGHTHOUSE_DIR / "node_modules" / "lighthouse" / "cli" / "index.js"
INSTALL_HINT = "npm ci --prefix lighthouse --no-audit --no-fund"
DEFAULT_CHROME = "/usr/bin/chromium"
DEFAULT_CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu")
_TAIL_CHARS = 2000


class RunnerError(Exception):
    """Lighthouse cannot be run at all (not installed, bad settings); names what to fix."""


@dataclass(frozen=True)
class RunnerConfig:
    output_dir: Path
    runs: int = 3
    parallel: int = 2
    timeout_s: float = 120.0
    node: str = "node"
    cli: Path = LIGHTHOUSE_CLI
    chrome_path: str = DEFAULT_CHROME
    chrome_flags: tuple[str, ...] = DEFAULT_CHROME_FLAGS
    extra_args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.runs < 1:
            raise RunnerError(f"runs must be at least 1, not {self.runs}")
        if self.parallel < 1:
            raise RunnerError(f"parallel must be at least 1, not {self.parallel}")
        if self.timeout_s <= 0:
            raise RunnerError(f"timeout_s must be positive, not {self.timeout_s}")


@dataclass(frozen=True)
class RunResult:
    """One Lighthouse run of one URL. ``error`` is None only for a usable LHR."""

    url: str
    index: int
    json_path: Path
    html_path: Path
    argv: tuple[str, ...]
    duration_s: float
    returncode: int | None
    lhr: dict[str, Any] | None = field(default=None, repr=False)
    error: str | None = None
    output_tail: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None and self.lhr is not None

    @property
    def label(self) -> str:
        return f"{self.url} run #{self.index}"

    def to_dict(self) -> dict[str, Any]:
        """Everything but the LHR, which stays in its file (see :func:`result_from_dict`)."""
        return {
            "url": self.url,
            "index": self.index,
            "json_path": str(self.json_path),
            "html_path": str(self.html_path),
            "argv": list(self.argv),
            "duration_s": self.duration_s,
            "returncode": self.returncode,
            "error": self.error,
            "output_tail": self.output_tail,
        }

    def scores(self) -> dict[str, float | None]:
        """Category scores of this run (empty for a failed run)."""
        if self.lhr is None:
            return {}
        categories = self.lhr.get("categories")
        if not isinstance(categories, dict):
            return {}
        return {name: cat.get("score") for name, cat in categories.items() if isinstance(cat, dict)}


def url_slug(url: str) -> str:
    """A folder name for a URL: host, port, path and fragment, filesystem-safe."""
    parts = urlsplit(url)
    raw = f"{parts.hostname or 'host'}_{parts.port or ''}{parts.path}"
    if parts.query:
        raw += f"_{parts.query}"
    if parts.fragment:
        raw += f"_{parts.fragment}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("_.")
    return slug or "root"


def build_argv(config: RunnerConfig, url: str, output_base: Path) -> list[str]:
    """The Lighthouse CLI command of one run; writes ``output_base.report.{json,html}``."""
    return [
        config.node,
        str(config.cli),
        url,
        "--output=json",
        "--output=html",
        f"--output-path={output_base}",
        f"--chrome-flags={' '.join(config.chrome_flags)}",
        "--quiet",
        *config.extra_args,
    ]


def read_lhr(path: Path) -> dict[str, Any]:
    """An LHR from ``path``; raises ``ValueError`` naming the file when it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path}: no JSON report was written") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: unreadable: {exc}") from None
    try:
        lhr = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(lhr, dict) or not isinstance(lhr.get("audits"), dict):
        raise ValueError(f"{path}: not a Lighthouse result (no 'audits' object)")
    return lhr


def result_from_dict(data: dict[str, Any]) -> RunResult:
    """A run recorded by :meth:`RunResult.to_dict`, its LHR read again from its file.

    A usable run whose report has since become unreadable turns into a failed run.
    """
    json_path = Path(data["json_path"])
    error: str | None = data["error"]
    lhr: dict[str, Any] | None = None
    if error is None:
        try:
            lhr = read_lhr(json_path)
        except ValueError as exc:
            error = str(exc)
    return RunResult(
        url=str(data["url"]),
        index=int(data["index"]),
        json_path=json_path,
        html_path=Path(data["html_path"]),
        argv=tuple(str(word) for word in data["argv"]),
        duration_s=float(data["duration_s"]),
        returncode=data["returncode"],
        lhr=lhr,
        error=error,
        output_tail=str(data["output_tail"]),
    )


def runtime_error(lhr: dict[str, Any]) -> str | None:
    """``CODE: message`` of the LHR's ``runtimeError``, or None."""
    err = lhr.get("runtimeError")
    if not err:
        return None
    if isinstance(err, dict):
        return f"{err.get('code', 'UNKNOWN')}: {err.get('message', '')}".strip()
    return str(err)


def _tail(text: str | bytes | None) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return text[-_TAIL_CHARS:]


def run_once(config: RunnerConfig, url: str, index: int) -> RunResult:
    """Run Lighthouse once on ``url`` (run number ``index``, from 1)."""
    folder = config.output_dir / url_slug(url)
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"run-{index}"
    json_path = base.with_name(base.name + ".report.json")
    html_path = base.with_name(base.name + ".report.html")
    for stale in (json_path, html_path):
        stale.unlink(missing_ok=True)
    argv = build_argv(config, url, base)
    env = {**os.environ, "CHROME_PATH": config.chrome_path}
    started = time.monotonic()
    returncode: int | None
    try:
        done = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=config.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return RunResult(
            url,
            index,
            json_path,
            html_path,
            tuple(argv),
            time.monotonic() - started,
            None,
            error=f"timed out after {config.timeout_s:g}s",
            output_tail=_tail(exc.output),
        )
    except FileNotFoundError:
        return RunResult(
            url,
            index,
            json_path,
            html_path,
            tuple(argv),
            time.monotonic() - started,
            None,
            error=f"command {config.node!r} not found",
        )
    duration = time.monotonic() - started
    returncode = done.returncode
    tail = _tail(done.stdout)
    lhr: dict[str, Any] | None
    try:
        lhr = read_lhr(json_path)
    except ValueError as exc:
        lhr = None
        problem = str(exc)
    else:
        problem = ""
    error: str | None = None
    if lhr is not None and (rt := runtime_error(lhr)):
        error = f"runtimeError {rt}"
    elif returncode != 0:
        error = f"lighthouse exited {returncode}" + (f"; {problem}" if problem else "")
    elif lhr is None:
        error = problem
    return RunResult(url, index, json_path, html_path, tuple(argv), duration, returncode, lhr, error, tail)


def check_installed(config: RunnerConfig) -> None:
    if not config.cli.is_file():
        raise RunnerError(f"the Lighthouse CLI is not installed at {config.cli}: run `{INSTALL_HINT}`")
    if not Path(config.chrome_path).is_file():
        raise RunnerError(f"Chromium not found at {config.chrome_path}")


def run_lighthouse(urls: Sequence[str], config: RunnerConfig) -> list[RunResult]:
    """``config.runs`` runs of each URL, at most ``config.parallel`` at a time.

    Results come back ordered by URL, then run number, whatever order they finished in.
    """
    if not urls:
        raise RunnerError("no URL to run Lighthouse on")
    check_installed(config)
    jobs = [(url, index) for url in urls for index in range(1, config.runs + 1)]
    with ThreadPoolExecutor(max_workers=min(config.parallel, len(jobs))) as pool:
        futures = [pool.submit(run_once, config, url, index) for url, index in jobs]
        return [future.result() for future in futures]


def summary(results: Sequence[RunResult]) -> str:
    """One line per run: duration and category scores, or the failure."""
    lines = []
    for result in results:
        if result.ok:
            scores = ", ".join(f"{name} {score}" for name, score in result.scores().items())
            lines.append(f"{result.label}: {result.duration_s:.1f}s; {scores}")
        else:
            lines.append(f"{result.label}: FAILED after {result.duration_s:.1f}s: {result.error}")
    return "\n".join(lines)
