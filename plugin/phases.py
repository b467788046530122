"""The fixed catalogue of release phases and their steps, and the units they form.

A *unit* is what the gate runs as one block behind a barrier: a phase without steps, or
one step of a phase that has steps. Units are totally ordered; the rank of a unit is its
position in :data:`UNITS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    steps: tuple[str, ...] = ()
    summary: str = ""


PHASES: Final[tuple[Phase, ...]] = (
    Phase("pre_release", ("review", "notify"), "the one-week-before checklist"),
    Phase("validate", ("install", "pipeline", "confirm"), "build, test, CI and security validation"),
    Phase("deploy_staging", ("migrations", "functions", "agents", "web"), "staging deployment A-D"),
    Phase("verify_staging", ("checks", "canary", "approval"), "smoke, playbook, canary, approvals"),
    Phase(
        "deploy_production",
        ("prerequisites", "migrations", "functions", "agents", "web", "final_checks"),
        "production promotion",
    ),
    Phase("rollout", ("internal", "pilot", "low_volume_ga", "full_ga"), "phased rollout"),
    Phase("post_release", ("monitor", "records"), "alerts, archives, records, retro"),
    Phase("rollback", ("flags", "redeploy", "schema", "verify", "record"), "rollback procedure"),
)

ROLLBACK_PHASE: Final = "rollback"
PHASE_BY_NAME: Final[dict[str, Phase]] = {p.name: p for p in PHASES}
PHASE_NAMES: Final[tuple[str, ...]] = tuple(p.name for p in PHASES)


@dataclass(frozen=True, slots=True, order=True)
class Unit:
    """One block of the gate: a phase, or one step of it. Ordered by :attr:`rank`."""

    rank: int
    phase: str
    step: str | None

    @property
    def label(self) -> str:
        return self.phase if self.step is None else f"{self.phase}/{self.step}"

    @property
    def is_rollback(self) -> bool:
        return self.phase == ROLLBACK_PHASE


def _build_units() -> tuple[Unit, ...]:
    units: list[Unit] = []
    for phase in PHASES:
        for step in phase.steps or (None,):
            units.append(Unit(len(units), phase.name, step))
    return tuple(units)


UNITS: Final[tuple[Unit, ...]] = _build_units()
_UNIT_BY_KEY: Final[dict[tuple[str, str | None], Unit]] = {(u.phase, u.step): u for u in UNITS}
UNIT_BY_LABEL: Final[dict[str, Unit]] = {u.label: u for u in UNITS}


def describe_catalogue() -> str:
    """The valid phase and step names, one phase a line, for usage errors."""
    lines = []
    for phase in PHASES:
        steps = f" (steps: {', '.join(phase.steps)})" if phase.steps else " (no steps)"
        lines.append(f"  {phase.name}{steps}")
    return "\n".join(lines)


def resolve_unit(phase: str, step: str | None) -> Unit:
    """The unit for a phase and step, or :class:`ValueError` saying what is valid."""
    spec = PHASE_BY_NAME.get(phase)
    if spec is None:
        raise ValueError(f"unknown phase {phase!r}; valid phases in order:\n{describe_catalogue()}")
    if step is None and spec.steps:
        raise ValueError(f"phase {phase!r} has steps, so a step is required; valid steps: {', '.join(spec.steps)}")
    if step is not None and step not in spec.steps:
        valid = ", ".join(spec.steps) if spec.steps else "none (this phase has no steps)"
        raise ValueError(f"unknown step {step!r} for phase {phase!r}; valid steps: {valid}")
    return _UNIT_BY_KEY[(phase, step)]
