"""PWA installability, which Lighthouse 12 no longer audits (its PWA category is gone).

Checked in the system Chromium through Playwright (never ``playwright install``):

- the page links a web app manifest (``<link rel="manifest">``) that loads as a JSON object
  with ``name``, ``start_url``, an installable ``display`` and ``icons`` including a
  192 px and a 512 px icon (Chrome's installability criteria);
- a service worker registers for the page, becomes active, and its scope covers
  ``start_url``.

Playwright's sync API refuses to start in a thread that runs an asyncio event loop (as the
smoke flows' session Playwright does once it started), so there the check runs in a thread
of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from playwright.sync_api import BrowserContext, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALLABLE_DISPLAYS = ("fullscreen", "standalone", "minimal-ui", "window-controls-overlay")
REQUIRED_ICON_SIZES = (192, 512)

# Waits for navigator.serviceWorker.ready, but no longer than the given milliseconds.
_SW_SCRIPT = """async (ms) => {
  if (!('serviceWorker' in navigator)) return {error: 'navigator.serviceWorker is not available'};
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), ms));
  const reg = await Promise.race([navigator.serviceWorker.ready, timeout]);
  if (reg === null) {
    const any = await navigator.serviceWorker.getRegistration();
    return {error: any ? 'a service worker registered but never became active'
                       : 'no service worker registered for this page', timed_out: true};
  }
  return {scope: reg.scope, script: reg.active ? reg.active.scriptURL : null};
}"""


@dataclass(frozen=True)
class PwaReport:
    url: str
    manifest_url: str | None = None
    manifest: dict[str, Any] | None = field(default=None, repr=False)
    service_worker_scope: str | None = None
    service_worker_script: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def installable(self) -> bool:
        return not self.problems

    def message(self) -> str:
        if self.installable:
            return (
                f"{self.url} is installable: manifest {self.manifest_url}, service worker "
                f"{self.service_worker_script} (scope {self.service_worker_scope})"
            )
        return f"{self.url} is not installable as a PWA:\n" + "\n".join(f"- {p}" for p in self.problems)


def _icon_sizes(icons: list[Any]) -> set[int]:
    sizes: set[int] = set()
    for icon in icons:
        if not isinstance(icon, dict) or not icon.get("src"):
            continue
        for size in str(icon.get("sizes", "")).split():
            width, _, height = size.lower().partition("x")
            if width.isdigit() and width == height:
                sizes.add(int(width))
    return sizes


def manifest_problems(manifest: Any) -> list[str]:
    """What the manifest lacks for installation (empty when nothing)."""
    if not isinstance(manifest, dict):
        return ["the manifest is not a JSON object"]
    problems = []
    if not isinstance(manifest.get("name"), str) or not manifest["name"].strip():
        problems.append("the manifest has no name")
    if not isinstance(manifest.get("start_url"), str) or not manifest["start_url"]:
        problems.append("the manifest has no start_url")
    if manifest.get("display") not in INSTALLABLE_DISPLAYS:
        problems.append(
            f"the manifest's display is {manifest.get('display')!r}; one of {', '.join(INSTALLABLE_DISPLAYS)} is needed"
        )
    icons = manifest.get("icons")
    if not isinstance(icons, list) or not icons:
        problems.append("the manifest has no icons")
    else:
        sizes = _icon_sizes(icons)
        missing = [f"{s}x{s}" for s in REQUIRED_ICON_SIZES if not any(have >= s for have in sizes)]
        if missing:
            problems.append(f"the manifest has no icon of at least {', '.join(missing)} (sizes: {sorted(sizes)})")
    return problems


def _load_manifest(
    context: BrowserContext, manifest_url: str, timeout_ms: float
) -> tuple[dict[str, Any] | None, list[str]]:
    answer = context.request.get(manifest_url, timeout=timeout_ms)
    if not answer.ok:
        return None, [f"the manifest {manifest_url} answers HTTP {answer.status}"]
    try:
        parsed = json.loads(answer.text())
    except ValueError as exc:
        return None, [f"the manifest {manifest_url} is not JSON: {exc}"]
    return (parsed if isinstance(parsed, dict) else None), manifest_problems(parsed)


def check_installable(url: str, *, timeout_s: float = 30.0) -> PwaReport:
    """Load ``url`` in Chromium and check its manifest and service worker."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _check_installable(url, timeout_s)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pwa-check") as pool:
        return pool.submit(_check_installable, url, timeout_s).result()


def _check_installable(url: str, timeout_s: float) -> PwaReport:
    timeout_ms = timeout_s * 1000
    problems: list[str] = []
    manifest: dict[str, Any] | None = None
    manifest_url: str | None = None
    scope: str | None = None
    script: str | None = None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), timeout=timeout_ms)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            try:
                response = page.goto(url, wait_until="load", timeout=timeout_ms)
            except PlaywrightError as exc:
                return PwaReport(url, problems=(f"the page did not load: {exc.message.splitlines()[0]}",))
            if response is None or not response.ok:
                status = "no response" if response is None else f"HTTP {response.status}"
                return PwaReport(url, problems=(f"the page did not load: {status}",))
            href = page.evaluate(
                "() => { const l = document.querySelector('link[rel~=\"manifest\"]'); return l ? l.href : null; }"
            )
            if not isinstance(href, str) or not href:
                problems.append('the page links no web app manifest (<link rel="manifest">)')
            else:
                manifest_url = urljoin(url, href)
                manifest, found = _load_manifest(context, manifest_url, timeout_ms)
                problems += found
            worker = page.evaluate(_SW_SCRIPT, min(timeout_ms, 10_000))
            if not isinstance(worker, dict) or worker.get("error"):
                problems.append(str(worker.get("error") if isinstance(worker, dict) else worker))
            else:
                scope, script = worker.get("scope"), worker.get("script")
                if manifest is not None and isinstance(manifest.get("start_url"), str) and scope:
                    start = urljoin(manifest_url or url, manifest["start_url"])
                    if not start.startswith(scope):
                        problems.append(f"the service worker's scope {scope} does not cover start_url {start}")
        finally:
            browser.close()
    return PwaReport(url, manifest_url, manifest, scope, script, tuple(problems))
