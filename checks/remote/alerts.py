"""Verdicts on GitHub's security alerts, for the validate checks (``checks/test_validate.py``).

- Dependabot: every alert at or above the blocking level must be triaged, that is dismissed
  (by hand or automatically) or fixed; an open one blocks. A severity this module does not
  know blocks too (fail closed).
- Secret scanning: any open alert blocks. An alert is described by its number, secret type,
  dates and link, never by the secret (the client does not keep it).

Each verdict is ``None`` (nothing blocks) or the message that fails the check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

from checks.remote.github import DependabotAlert, SecretScanningAlert
from checks.remote.settings import SEVERITY_ORDER

# Every Dependabot state GitHub lists; all but "open" mean triaged.
DEPENDABOT_STATES: Final = ("auto_dismissed", "dismissed", "fixed", "open")
TRIAGED_STATES: Final = frozenset({"auto_dismissed", "dismissed", "fixed"})
SHOWN: Final = 20


def at_or_above(severity: str, level: str) -> bool:
    """Whether ``severity`` reaches ``level``; an unknown severity does (fail closed)."""
    rank = SEVERITY_ORDER.get(severity.lower())
    return rank is None or rank >= SEVERITY_ORDER[level]


def untriaged_dependabot(alerts: Iterable[DependabotAlert], level: str) -> list[DependabotAlert]:
    """The alerts at or above ``level`` that are neither dismissed nor fixed, most severe first."""
    found = [alert for alert in alerts if alert.state not in TRIAGED_STATES and at_or_above(alert.severity, level)]
    return sorted(found, key=lambda alert: (-SEVERITY_ORDER.get(alert.severity.lower(), 99), alert.number))


def _counts(alerts: Iterable[DependabotAlert]) -> str:
    counts = Counter(alert.state for alert in alerts)
    return ", ".join(f"{state} {counts[state]}" for state in sorted(counts)) or "none"


def dependabot_verdict(alerts: Sequence[DependabotAlert], level: str, repository: str) -> str | None:
    """None when every alert at or above ``level`` is triaged; otherwise the failure message."""
    open_alerts = untriaged_dependabot(alerts, level)
    if not open_alerts:
        return None
    lines = [
        f"  #{alert.number} {alert.package} ({alert.severity}, {alert.security_advisory.ghsa_id}, "
        f"{alert.dependency.manifest_path or 'no manifest'}): {alert.state}"
        + (f" {alert.html_url}" if alert.html_url else "")
        for alert in open_alerts[:SHOWN]
    ]
    more = len(open_alerts) - SHOWN
    if more > 0:
        lines.append(f"  ... and {more} more")
    return (
        f"GitHub {repository}: {len(open_alerts)} Dependabot alerts at {level} or above are not triaged "
        f"(dismiss or fix them; all alerts by state: {_counts(alerts)}):\n" + "\n".join(lines)
    )


def secret_scanning_verdict(alerts: Sequence[SecretScanningAlert], repository: str) -> str | None:
    """None when no secret-scanning alert is open; otherwise the failure message (no secret)."""
    open_alerts = sorted((alert for alert in alerts if alert.state == "open"), key=lambda alert: alert.number)
    if not open_alerts:
        return None
    lines = [f"  {alert.describe()}" for alert in open_alerts[:SHOWN]]
    more = len(open_alerts) - SHOWN
    if more > 0:
        lines.append(f"  ... and {more} more")
    return (
        f"GitHub {repository}: {len(open_alerts)} open secret-scanning alerts (values never shown; revoke the "
        "secret, then resolve the alert):\n" + "\n".join(lines)
    )
