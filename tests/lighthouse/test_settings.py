"""``[targets.<t>.checks.lighthouse]`` (``lighthouse/settings.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lighthouse.settings import LighthouseSettingsError, from_table


def test_defaults_and_review_runs_following_runs(tmp_path: Path) -> None:
    settings = from_table(None, tmp_path, "sandbox")
    assert (settings.runs, settings.review_runs, settings.parallel) == (3, 3, 2)
    assert from_table({"runs": 5}, tmp_path, "sandbox").review_runs == 5
    assert from_table({"runs": 5, "review_runs": 1}, tmp_path, "sandbox").review_runs == 1
    assert settings.output_dir == tmp_path / "artifacts/lighthouse"


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ({"review_runs": 0}, "review_runs: a whole number of at least 1, not 0"),
        ({"review_runs": True}, "review_runs: a whole number of at least 1, not True"),
        ({"runs": "3"}, "runs: a whole number of at least 1, not '3'"),
        ({"timeout_s": -1}, "timeout_s: a positive number of seconds"),
        ({"paths": []}, "paths: a non-empty list of URL paths"),
        ({"review": 1}, "unknown key(s) review; known:"),
    ],
)
def test_a_bad_value_names_the_key(tmp_path: Path, table: dict[str, Any], needle: str) -> None:
    with pytest.raises(LighthouseSettingsError) as caught:
        from_table(table, tmp_path, "sandbox")
    assert "release.toml [targets.sandbox.checks.lighthouse]" in str(caught.value)
    assert needle in str(caught.value)
