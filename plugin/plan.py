"""The release plan: what a run would do, in order, with the exact argv of every action."""

from __future__ import annotations

import shlex

import pytest

from plugin.actions import DECLARED_ACTIONS, ActionError, ActionSpec, actions_used, resolve_command
from plugin.phases import Unit
from plugin.runtime import MARKS_KEY, Runtime


def _action_line(runtime: Runtime, spec: ActionSpec) -> str:
    kind = "mutating" if spec.mutating else "read-only"
    extra = f", compensates {' or '.join(spec.compensates)}" if spec.compensates else ""
    extra += f", after {', '.join(spec.after)}" if spec.after else ""
    try:
        command = resolve_command(runtime, spec, strict=False)
    except ActionError as exc:
        return f"    action {spec.name} ({kind}{extra}): CANNOT RUN: {exc}"
    root = runtime.settings.rootdir
    where = command.cwd.relative_to(root) if command.cwd.is_relative_to(root) else command.cwd
    lines = [f"    action {spec.name} ({kind}{extra}, timeout {command.timeout_s:g}s, in {where}):"]
    for argv in command.argvs:
        lines.append(f"      $ {shlex.join(runtime.settings.masker.mask_argv(argv))}")
    return "\n".join(lines)


def plan_lines(runtime: Runtime, items: list[pytest.Item]) -> list[str]:
    settings = runtime.settings
    lines = [
        f"release plan: target {settings.target_name}, environment {settings.env or '(none)'}, "
        f"version {settings.version or '(unknown)'}{', dry run' if settings.dry_run else ''}; nothing runs",
    ]
    by_unit: dict[Unit, list[pytest.Item]] = {}
    for item in items:
        by_unit.setdefault(item.stash[MARKS_KEY].unit, []).append(item)
    actions_by_unit: dict[Unit, list[ActionSpec]] = {}
    placed: set[str] = set()
    for item in items:
        for name in actions_used(getattr(item, "fixturenames", ())):
            spec = DECLARED_ACTIONS[name]
            if name not in placed:
                placed.add(name)
                actions_by_unit.setdefault(spec.unit or item.stash[MARKS_KEY].unit, []).append(spec)
    units = sorted(set(by_unit) | set(actions_by_unit))
    for position, unit in enumerate(units, start=1):
        tests = by_unit.get(unit, [])
        note = "  (runs only when selected or triggered)" if unit.is_rollback else ""
        lines.append(f"{position:>2}. {unit.label}: {len(tests)} tests{note}")
        for spec in actions_by_unit.get(unit, []):
            lines.append(_action_line(runtime, spec))
        for item in tests:
            marks = item.stash[MARKS_KEY]
            tags = []
            if marks.checklist:
                tags.append(", ".join(marks.checklist))
            if marks.advisory:
                tags.append("advisory")
            suffix = f"  [{'; '.join(tags)}]" if tags else ""
            lines.append(f"      {item.nodeid}{suffix}")
    n_actions = sum(len(v) for v in actions_by_unit.values())
    lines.append(f"plan: {len(items)} tests in {len(by_unit)} units, {n_actions} actions")
    return lines
