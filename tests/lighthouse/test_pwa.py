"""PWA installability in the system Chromium (Playwright), on loopback pages."""

from __future__ import annotations

from typing import Any

import pytest

from lighthouse.pwa import check_installable, manifest_problems


def test_a_page_without_manifest_or_service_worker_is_not_installable(site: str) -> None:
    report = check_installable(f"{site}/plain.html", timeout_s=20)
    assert not report.installable
    assert report.problems == (
        'the page links no web app manifest (<link rel="manifest">)',
        "no service worker registered for this page",
    )
    assert "is not installable as a PWA" in report.message()


def test_a_page_with_manifest_and_service_worker_is_installable(site: str) -> None:
    report = check_installable(f"{site}/pwa.html", timeout_s=20)
    assert report.installable, report.message()
    assert report.service_worker_script == f"{site}/sw.js"
    assert report.manifest_url == f"{site}/manifest.webmanifest"


def test_the_check_runs_where_an_event_loop_is_running(site: str) -> None:
    """As in the production final checks, after the smoke flows' Playwright session started."""
    import asyncio

    async def inside_a_loop() -> bool:
        return check_installable(f"{site}/pwa.html", timeout_s=20).installable

    assert asyncio.run(inside_a_loop())


def test_a_page_that_does_not_load_is_not_installable(site: str) -> None:
    report = check_installable(f"{site}/broken", timeout_s=20)
    assert report.problems == ("the page did not load: HTTP 500",)


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ({"start_url": "/", "display": "standalone", "icons": []}, "the manifest has no name"),
        ({"name": "x", "display": "standalone", "icons": [{"src": "a", "sizes": "512x512"}]}, "no start_url"),
        ({"name": "x", "start_url": "/", "display": "browser", "icons": []}, "display is 'browser'"),
        (
            {"name": "x", "start_url": "/", "display": "standalone", "icons": [{"src": "a", "sizes": "192x192"}]},
            "512x512",
        ),
        ([], "not a JSON object"),
    ],
)
def test_manifest_problems(manifest: Any, problem: str) -> None:
    assert any(problem in found for found in manifest_problems(manifest)), manifest_problems(manifest)
