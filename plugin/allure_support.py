"""Allure integration, used only when allure-pytest writes results (``--alluredir``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.settings import Settings


def alluredir(config: pytest.Config) -> Path | None:
    value = config.getoption("allure_report_dir", None)
    return Path(value) if value else None


def write_environment(directory: Path, settings: Settings, run_id: str, workers: str) -> None:
    """``environment.properties``: what this result set is a release of."""
    directory.mkdir(parents=True, exist_ok=True)
    values = {
        "target": settings.target_name,
        "version": settings.version or "unknown",
        "environment": settings.env or "none",
        "run_id": run_id,
        "workers": workers,
        "dry_run": str(settings.dry_run).lower(),
    }
    text = "".join(f"{key}={settings.masker.mask(value)}\n" for key, value in values.items())
    (directory / "environment.properties").write_text(text, encoding="utf-8")


def forget(config: pytest.Config, item: pytest.Item) -> None:
    """Drop the result allure-pytest opened for a hidden barrier item.

    allure-pytest opens a result for every item in its ``pytest_runtest_protocol``
    wrapper; a barrier item is not a test and must not appear in the report. There is
    no public API for this, so the pinned allure-pytest version is relied on, and a
    change in it fails loudly here rather than leaving stray results.
    """
    listener = config.pluginmanager.get_plugin("allure_listener")
    if listener is None:
        return
    try:
        uuid = listener._cache.pop(item.nodeid)
        if uuid:
            listener.allure_logger.drop_test(uuid)
    except AttributeError as exc:
        raise RuntimeError(f"allure-pytest internals changed; cannot hide barrier items: {exc}") from exc
