"""The ICUPA release gate: a pytest plugin that runs a release runbook as tests.

Modules, one concern each:

- :mod:`plugin.main`: hook wiring (the ``release_gate`` entry point)
- :mod:`plugin.phases`: the phase and step catalogue, and the units it forms
- :mod:`plugin.markers`: marker registration and parsing
- :mod:`plugin.settings`: options, ini twins, and the resolved settings
- :mod:`plugin.config`: ``release.toml`` targets, validated
- :mod:`plugin.checklist`: the runbook checklist as data, and coverage
- :mod:`plugin.ordering`: collection-time checks and ordering
- :mod:`plugin.gate`: when the gate closes and what that skips
- :mod:`plugin.engine`: recording outcomes and finishing units
- :mod:`plugin.scheduler` / :mod:`plugin.xdist_support`: the phase-barrier xdist scheduler
- :mod:`plugin.actions` / :mod:`plugin.ledger`: deployment actions and their ledger
- :mod:`plugin.masking` / :mod:`plugin.templating`: secrets and argv templates
- :mod:`plugin.plan` / :mod:`plugin.verdict`: the plan and the verdict
- :mod:`plugin.allure_support`: Allure labels and environment

The engine states its invariants with plain ``assert`` and does not need pytest's
assertion rewriting; PYTEST_DONT_REWRITE keeps in-process pytester runs from warning
that the already imported plugin cannot be rewritten.
"""

from plugin.actions import ActionResult, release_action
from plugin.phases import PHASES, UNITS, Phase, Unit

__all__ = ["PHASES", "UNITS", "ActionResult", "Phase", "Unit", "release_action"]
