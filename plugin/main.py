"""The release gate's pytest hooks: the module the ``release_gate`` entry point loads.

Only wiring lives here; each concern has its own module (see the package docstring).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Final

import pytest

from plugin import allure_support
from plugin.checklist import uncovered
from plugin.engine import SKIP_PROPERTY, finish_unit, record_report
from plugin.gate import skip_reason
from plugin.ledger import actor, utc_now
from plugin.markers import SELECTION_MARKERS, register_markers
from plugin.masking import mask_structure
from plugin.ordering import BarrierItem, annotate, order
from plugin.phases import UNITS, Unit
from plugin.plan import plan_lines
from plugin.runtime import MARKS_KEY, RUNTIME_KEY, USAGE_ERROR_KEY, Runtime, make_runtime
from plugin.scheduler import barrier_rank
from plugin.settings import add_options, resolve_settings
from plugin.verdict import Evidence, Tally, Verdict, decide, rollback_line, table_lines

if TYPE_CHECKING:
    from plugin.xdist_support import XdistController as XdistControllerLike

_SEP: Final = "="


@pytest.hookimpl
def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# wrapper + tryfirst: runs before xdist's own (tryfirst) cmdline_main turns -n into workers.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> Generator[None, object, object]:
    plan = config.getoption("release_plan")
    if (plan or (plan is None and config.getini("release_plan"))) and hasattr(config.option, "numprocesses"):
        # A plan runs nothing, so it needs no workers: collect once, in this process.
        config.option.numprocesses = 0
    return (yield)


def _pin_rootdir_for_workers(config: pytest.Config) -> None:
    """Give xdist's workers this process's rootdir and configuration file.

    A worker determines its rootdir afresh from the invocation's arguments, and pytest takes
    an option's value that names an existing path (``--alluredir /tmp/out``, which the
    controller has just created) for a test path: the worker would land on a common ancestor
    without the project's configuration and stop with a usage error nobody sees. Appending
    ``--rootdir`` and ``--config-file`` (the same values this process found) keeps them
    identical.
    """
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    pinned = [f"--rootdir={config.rootpath}"]
    if config.inipath is not None:
        pinned.append(f"--config-file={config.inipath}")
    params = config.invocation_params
    config.invocation_params = dataclasses.replace(params, args=(*params.args, *pinned))


@pytest.hookimpl
def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)
    _pin_rootdir_for_workers(config)
    settings = resolve_settings(config)
    runtime = make_runtime(settings, getattr(config, "workerinput", None))
    config.stash[RUNTIME_KEY] = runtime
    config.pluginmanager.register(ReleaseGate(config, runtime), "release-gate-session")


def _final_teardown(item: pytest.Item) -> None:
    """Tear the session's fixtures down after a worker's last item, a barrier, and report errors.

    The last real test of a worker ran with the barrier as its next item, so session-scoped
    fixtures outlived it; their teardown errors must still reach the verdict.
    """
    call = pytest.CallInfo.from_call(
        lambda: item.ihook.pytest_runtest_teardown(item=item, nextitem=None), when="teardown"
    )
    if call.excinfo is not None:
        report = item.ihook.pytest_runtest_makereport(item=item, call=call)
        item.ihook.pytest_runtest_logreport(report=report)


def _workers(config: pytest.Config) -> str:
    tx = getattr(config.option, "tx", None) or []
    if getattr(config.option, "dist", "no") != "no" and tx:
        return f"xdist, {len(tx)} workers, phase-barrier scheduling"
    return "serial"


class ReleaseGate:
    """The hooks of one release run; registered by ``pytest_configure``."""

    def __init__(self, config: pytest.Config, runtime: Runtime) -> None:
        self.config = config
        self.runtime = runtime
        self.tally = Tally()
        self.controller: XdistControllerLike | None = None
        self.collection_errors = 0
        self.verdict: Verdict | None = None
        self._unit_by_nodeid: dict[str, Unit] | None = None
        self.allure_masker: allure_support.ResultMasker | None = None
        self.session: pytest.Session | None = None

    @pytest.hookimpl
    def pytest_unconfigure(self) -> None:
        collected = self.runtime.extra.pop("collected_order", None)
        if self.session is not None and collected is not None and len(collected) == len(self.session.items):
            # Hand the items back in the order they were created, so that tearing down a
            # large session frees them in memory order (measurably faster at exit).
            self.session.items[:] = collected
        if self.allure_masker is not None:
            allure_support.unregister_masker(self.allure_masker)
            self.allure_masker = None

    # tryfirst: xdist's DSession starts its workers in its own pytest_sessionstart, and
    # the controller hooks (worker input, scheduler) must be registered before that.
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config, runtime = self.config, self.runtime
        self.session = session
        if allure_support.alluredir(config) is not None:
            # Registered after allure-pytest's own writers, so it sees each result first.
            self.allure_masker = allure_support.register_masker(runtime.settings.masker.mask)
        if runtime.is_worker:
            return
        if config.pluginmanager.has_plugin("dsession"):
            from plugin.xdist_support import XdistController  # noqa: PLC0415 - xdist is optional

            self.controller = XdistController(runtime, session)
            config.pluginmanager.register(self.controller, "release-gate-xdist")
            runtime.gate_file.write(runtime.state)  # workers read it; a missing file means closed
        directory = allure_support.alluredir(config)
        if directory is not None:
            allure_support.write_environment(directory, runtime.settings, runtime.run_id, _workers(config))

    @pytest.hookimpl
    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        runtime = self.runtime
        s = runtime.settings
        source = f"from {s.config_path.name}" if s.config_path else "no release.toml"
        lines = [
            f"release gate: target {s.target_name} ({source}), environment {s.env or '(none)'}, "
            f"version {s.version or '(unknown)'} ({s.version_source}), dry run {'yes' if s.dry_run else 'no'}",
            f"release gate: workers {_workers(config)}; run {runtime.run_id}; ledger {runtime.ledger.path}",
        ]
        t = s.target.thresholds if s.target else None
        if t is not None:
            lines.append(
                f"release gate: thresholds coverage>={t.coverage_min_percent:g}%, "
                f"error rate<={t.error_rate_max:.2%}, p95<={t.latency_p95_max_ms:g}ms, "
                f"guardrail breaches<={t.guardrail_breach_rate_max:.2%}, "
                f"payments success>={t.payments_success_min:.2%}, "
                f"canary window {t.canary_window_s:g}s, alert window {t.alert_window_s:g}s"
            )
        if s.checklist is not None:
            lines.append(f"release gate: checklist {s.checklist.path.name}, {len(s.checklist.items)} items")
        return lines

    # wrapper + tryfirst: the outermost wrapper. Markers are read before any plugin
    # deselects (so -m sees the selection markers the checklist implies), and the final
    # order is set after every other plugin has reordered or deselected.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> Generator[None, object, object]:
        usage: pytest.UsageError | None = None
        try:
            annotate(config, self.runtime, items)
        except pytest.UsageError as exc:
            usage = self._usage_error_on_worker(exc)
        result = yield
        if usage is None:
            try:
                order(config, self.runtime, session, items)
            except pytest.UsageError as exc:
                usage = self._usage_error_on_worker(exc)
        if usage is not None:
            # A worker that raised would die, and xdist's controller would end in an
            # INTERNALERROR ("no active workers"); the worker runs nothing and the controller
            # reports the message with pytest's usage-error exit code instead.
            self.config.workeroutput[USAGE_ERROR_KEY] = str(usage)  # type: ignore[attr-defined]
            items.clear()
        return result

    def _usage_error_on_worker(self, exc: pytest.UsageError) -> pytest.UsageError:
        if not self.runtime.is_worker:
            raise exc
        return exc

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and not self.runtime.is_worker:
            self.collection_errors += 1

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        if not self.runtime.settings.plan or session.testsfailed:
            return None
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        gate_items = [item for item in session.items if MARKS_KEY in item.stash]
        if reporter is not None:
            reporter.write_sep(_SEP, "release plan")
            for line in plan_lines(self.runtime, gate_items):
                reporter.write_line(line)
        return True

    # tryfirst: a barrier item is answered before any other plugin sees it.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
        if isinstance(item, BarrierItem):
            allure_support.forget(self.config, item)
            if nextitem is None:
                _final_teardown(item)
            return True
        return None

    # tryfirst: the gate decides before any fixture of the test is set up.
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        marks = item.stash.get(MARKS_KEY, None)
        if marks is None:
            return
        runtime = self.runtime
        unit = marks.unit
        if runtime.is_worker:
            state = runtime.gate_file.read()
        else:
            previous = runtime.current_unit
            if previous is not None and previous != unit:
                finish_unit(runtime, previous)
            state = runtime.state
        runtime.current_unit = unit
        reason = skip_reason(unit, state, runtime.rollback_selected)
        if reason is not None:
            item.user_properties.append((SKIP_PROPERTY, reason))
            pytest.skip(reason)

    # wrapper + trylast: the innermost wrapper, so the report is masked before any other
    # plugin (the terminal, JUnit, Allure) reads it.
    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        mask = self.runtime.settings.masker.mask
        if report.failed and report.longrepr is not None:
            text = str(report.longrepr)
            if mask(text) != text:
                report.longrepr = mask_structure(report.longrepr, mask)
        if report.sections:
            report.sections = [(title, mask(content)) for title, content in report.sections]
        return report

    def _unit_of(self, nodeid: str) -> Unit | None:
        if self._unit_by_nodeid is None:
            mapping: dict[str, Unit] = {}
            scheduler = self.controller.scheduler if self.controller else None
            if scheduler is not None and scheduler.collection is not None:
                for index, rank in scheduler.plan.rank_of.items():
                    mapping[scheduler.collection[index]] = UNITS[rank]
            self._unit_by_nodeid = mapping
        found = self._unit_by_nodeid.get(nodeid)
        if found is None:
            barrier = barrier_rank(nodeid)
            found = UNITS[barrier] if barrier is not None else None
        return found

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.runtime.is_worker:
            return
        record_report(self.runtime, report)
        self.tally.add(report, self._unit_of)
        directory = allure_support.alluredir(self.config)
        if directory is not None and report.failed and report.when not in ("setup", "call", "teardown"):
            unit = self._unit_of(report.nodeid)
            message = self.runtime.settings.masker.mask(str(report.longrepr))
            allure_support.write_crash_result(
                directory, report.nodeid, unit.label if unit else None, self.runtime.run_id, message
            )

    @pytest.hookimpl
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        runtime = self.runtime
        if runtime.is_worker or excinfo.errisinstance(pytest.Session.Interrupted):
            return  # pytest stopping itself (collection errors, --maxfail) is not a Ctrl-C
        runtime.state.interrupted = True
        unit = runtime.current_unit.label if runtime.current_unit else None
        runtime.ledger.append({"kind": "event", "event": "interrupted", "unit": unit, "actor": actor()})
        runtime.gate_file.write(runtime.state)

    def _gate_requested(self) -> bool:
        runtime = self.runtime
        if self.controller is not None and self.controller.expected_nodeids is not None:
            return True
        return runtime.gate_active or bool(runtime.settings.selections)

    def _expected(self, session: pytest.Session) -> list[str]:
        if self.controller is not None:
            return self.controller.expected_nodeids or []
        return [item.nodeid for item in session.items if MARKS_KEY in item.stash]

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        runtime = self.runtime
        if runtime.settings.plan and not runtime.is_worker and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            session.exitstatus = pytest.ExitCode.OK  # an empty plan is still a plan
        if runtime.is_worker or runtime.settings.plan or self.config.option.collectonly:
            return  # nothing ran, so there is nothing to judge
        if exitstatus == pytest.ExitCode.USAGE_ERROR:
            return  # pytest has said what is wrong; there is no run to judge
        if self.controller is not None and self.controller.usage_error is not None:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return  # the workers found bad input while collecting; the summary says what
        if not self._gate_requested():
            return
        if self.controller is None and runtime.current_unit is not None:
            finish_unit(runtime, runtime.current_unit)
        units = {item.nodeid: item.stash[MARKS_KEY].unit for item in session.items if MARKS_KEY in item.stash}

        def unit_of(nodeid: str) -> Unit | None:
            return self._unit_of(nodeid) if self.controller is not None else units.get(nodeid)

        settings = runtime.settings
        covered = self.tally.covered
        missing_items = uncovered(settings.checklist, covered, settings.selections) if settings.checklist else []
        # Without a selection nothing is owed, but every item without a test is still listed.
        listed = missing_items
        if settings.checklist and not settings.selections:
            listed = uncovered(settings.checklist, covered, SELECTION_MARKERS)
        self.verdict = decide(
            Evidence(
                tally=self.tally,
                state=runtime.state,
                expected=self._expected(session),
                unit_of=unit_of,
                uncovered=missing_items,
                rollback_selected=runtime.rollback_selected,
                collection_errors=self.collection_errors,
                exitstatus=int(exitstatus),
                interrupted=runtime.state.interrupted,
                current_unit=runtime.current_unit,
            )
        )
        runtime.extra["uncovered"] = listed
        self._write_record(session)
        if self.verdict.passed:
            session.exitstatus = pytest.ExitCode.OK
        elif session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write_record(self, session: pytest.Session) -> None:
        runtime, verdict = self.runtime, self.verdict
        assert verdict is not None
        settings = runtime.settings
        expected = self._expected(session)
        record = {
            "run_id": runtime.run_id,
            "verdict": verdict.line,
            "passed": verdict.passed,
            "blocked_at": verdict.blocked_at,
            "reason": verdict.reason,
            "target": settings.target_name,
            "environment": settings.env,
            "version": settings.version,
            "dry_run": settings.dry_run,
            "selections": sorted(settings.selections),
            "finished_at": utc_now(),
            "tests": expected,
        }
        path = runtime.run_dir / "verdict.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        directory = allure_support.alluredir(self.config)
        if directory is not None:
            manifest = {
                "schema": 1,
                "run_id": runtime.run_id,
                "target": settings.target_name,
                "environment": settings.env,
                "version": settings.version,
                "selections": sorted(settings.selections),
                "checklist": str(settings.checklist.path) if settings.checklist else None,
                "verdict": verdict.line,
                "tests": [{"nodeid": nodeid, **self.tally.properties.get(nodeid, {})} for nodeid in expected],
            }
            allure_support.write_manifest(directory, manifest)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        verdict, runtime = self.verdict, self.runtime
        if self.controller is not None and self.controller.usage_error is not None:
            terminalreporter.write_line(f"ERROR: {self.controller.usage_error}", red=True)
        if verdict is None:
            return
        tr = terminalreporter
        tr.write_sep(_SEP, "release gate")
        missing_items = runtime.extra.get("uncovered", [])
        if missing_items:
            owed = bool(runtime.settings.selections)
            if owed or self.config.option.verbose > 0:
                note = "" if owed else ", not owed by this run"
                tr.write_line(f"checklist items without a test ({len(missing_items)}{note}):")
                for entry in missing_items:
                    tr.write_line(f"  {entry.id} [{entry.unit.label}] {entry.text}")
            else:
                tr.write_line(
                    f"checklist items without a test: {len(missing_items)}, not owed by this run (-v lists them)"
                )
        for row in table_lines(self.tally):
            tr.write_line(row)
        rollback_note = rollback_line(runtime.state, self.tally, runtime.rollback_selected)
        if rollback_note:
            tr.write_line(rollback_note)
        if runtime.ledger.path.exists():
            tr.write_line(f"ledger: {runtime.ledger.path}")
        tr.write_line(verdict.line, green=verdict.passed, red=not verdict.passed, bold=True)
