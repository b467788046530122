"""Allure integration, used only when allure-pytest writes results (``--alluredir``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import allure_commons
import allure_commons.types
import pytest

from plugin.masking import mask_structure
from plugin.settings import Settings


def alluredir(config: pytest.Config) -> Path | None:
    value = config.getoption("allure_report_dir", None)
    return Path(value) if value else None


def attach_action_log(config: pytest.Config, action: str, log_path: Path) -> None:
    """Attach an action's output log (masked line by line when it was written) to the test
    whose set-up ran or reused the action, when Allure results are being written."""
    if alluredir(config) is None or not log_path.is_file():
        return
    allure_commons.plugin_manager.hook.attach_file(
        source=str(log_path),
        name=f"action {action} output (masked)",
        attachment_type=allure_commons.types.AttachmentType.TEXT,
        extension="txt",
    )


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
    executor = {
        "name": "ICUPA release gate",
        "type": "pytest",
        "buildName": f"{settings.target_name} {settings.env or ''} {settings.version or ''} ({run_id})".strip(),
        "buildOrder": run_id,
    }
    (directory / "executor.json").write_text(json.dumps(executor, indent=2), encoding="utf-8")


def write_crash_result(directory: Path, nodeid: str, unit_label: str | None, run_id: str, message: str) -> None:
    """A ``broken`` result for a test whose xdist worker died: allure-pytest writes none.

    Without it the results would simply lack the test, which a reader of the report could
    miss; with it the crash is in the report, labelled like any gate test.
    """
    now = int(time.time() * 1000)
    phase, _, step = (unit_label or "").partition("/")
    labels = [
        {"name": "gate_nodeid", "value": nodeid},
        {"name": "gate_run_id", "value": run_id},
        {"name": "severity", "value": "blocker"},
    ]
    if phase:
        labels += [{"name": "epic", "value": phase}, {"name": "feature", "value": step or phase}]
    uid = str(uuid.uuid4())
    result = {
        "uuid": uid,
        "name": nodeid.rsplit("::", 1)[-1],
        "fullName": nodeid,
        "status": "broken",
        "statusDetails": {"message": message},
        "stage": "finished",
        "start": now,
        "stop": now,
        "labels": labels,
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{uid}-result.json").write_text(json.dumps(result), encoding="utf-8")


MANIFEST_NAME: Final = "release-gate-manifest.json"


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """What the run collected, for the CI gate over the results (``reports.gate``).

    Written last, when the run ends: a results folder without it comes from a run that did
    not finish, and the gate over the results treats it as incomplete.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{MANIFEST_NAME}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tmp.replace(directory / MANIFEST_NAME)


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


class ResultMasker:
    """An allure-commons plugin that masks secrets in results before they are written.

    allure-pytest builds a failure's message from the exception itself, not from the
    (already masked) pytest report, so the result objects are masked on their way out.
    """

    def __init__(self, mask: Callable[[str], str]) -> None:
        self.mask = mask

    @allure_commons.hookimpl(tryfirst=True)
    def report_result(self, result: Any) -> None:
        mask_structure(result, self.mask, ("allure_commons",))

    @allure_commons.hookimpl(tryfirst=True)
    def report_container(self, container: Any) -> None:
        mask_structure(container, self.mask, ("allure_commons",))


def register_masker(mask: Callable[[str], str]) -> ResultMasker:
    masker = ResultMasker(mask)
    allure_commons.plugin_manager.register(masker)
    return masker


def unregister_masker(masker: ResultMasker) -> None:
    allure_commons.plugin_manager.unregister(masker)
