"""The ``[targets.<t>.checks.lighthouse]`` table of ``release.toml``, validated.

```toml
[targets.sandbox.checks.lighthouse]
config = "lighthouse/lighthouserc.json"   # Lighthouse CI assert format, relative to the root
paths = ["/", "/?tenant=kigali-bistro#/cart"]   # joined to the environment's web URL
runs = 3                                   # runs per URL of the release candidate (validate)
review_runs = 3                            # runs per URL of the pre-release review of staging (default: runs)
parallel = 2                               # Lighthouse processes at once
timeout_s = 120                            # per run
output_dir = "artifacts/lighthouse"        # reports: <output_dir>/<url-slug>/run-<n>.report.{json,html}
pwa_timeout_s = 30
```

Every key has a default (above), so a target without the table gets them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

_DEFAULTS: dict[str, Any] = {
    "config": "lighthouse/lighthouserc.json",
    "paths": ["/"],
    "runs": 3,
    "review_runs": None,
    "parallel": 2,
    "timeout_s": 120,
    "output_dir": "artifacts/lighthouse",
    "pwa_timeout_s": 30,
}


class LighthouseSettingsError(ValueError):
    """The table is invalid; the message names ``release.toml`` and the key."""


@dataclass(frozen=True)
class LighthouseSettings:
    config: Path
    paths: tuple[str, ...]
    runs: int
    review_runs: int
    parallel: int
    timeout_s: float
    output_dir: Path
    pwa_timeout_s: float

    def urls(self, web_url: str) -> list[str]:
        base = web_url if web_url.endswith("/") else web_url + "/"
        return [urljoin(base, path.lstrip("/")) for path in self.paths]


def from_table(table: dict[str, Any] | None, rootdir: Path, target: str) -> LighthouseSettings:
    where = f"release.toml [targets.{target}.checks.lighthouse]"
    raw = dict(table or {})
    unknown = sorted(set(raw) - set(_DEFAULTS))
    if unknown:
        raise LighthouseSettingsError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(_DEFAULTS)}")
    merged = {**_DEFAULTS, **raw}
    if merged["review_runs"] is None:
        merged["review_runs"] = merged["runs"]
    for key in ("runs", "review_runs", "parallel"):
        if isinstance(merged[key], bool) or not isinstance(merged[key], int) or merged[key] < 1:
            raise LighthouseSettingsError(f"{where}.{key}: a whole number of at least 1, not {merged[key]!r}")
    for key in ("timeout_s", "pwa_timeout_s"):
        if isinstance(merged[key], bool) or not isinstance(merged[key], int | float) or merged[key] <= 0:
            raise LighthouseSettingsError(f"{where}.{key}: a positive number of seconds, not {merged[key]!r}")
    paths = merged["paths"]
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise LighthouseSettingsError(f"{where}.paths: a non-empty list of URL paths, not {paths!r}")
    for key in ("config", "output_dir"):
        if not isinstance(merged[key], str) or not merged[key]:
            raise LighthouseSettingsError(f"{where}.{key}: a path, not {merged[key]!r}")
    return LighthouseSettings(
        config=rootdir / merged["config"],
        paths=tuple(paths),
        runs=merged["runs"],
        review_runs=merged["review_runs"],
        parallel=merged["parallel"],
        timeout_s=float(merged["timeout_s"]),
        output_dir=rootdir / merged["output_dir"],
        pwa_timeout_s=float(merged["pwa_timeout_s"]),
    )
