"""Slack incoming webhooks: the stakeholder announcement of a release window and rollout plan.

``post_webhook`` sends one message (``text`` plus Block Kit ``blocks``, Slack's incoming
webhook format) with a timeout; Slack answers ``200 ok``, or an error word such as
``invalid_payload``, ``no_service`` or ``channel_is_archived``. The webhook URL is a secret:
it comes from an environment variable, and only its masked form (host, ``/services/***``)
ever appears in a message or in output.

As a command (the ``notify_stakeholders`` action runs it; no shell, argv only)::

    python -m checks.remote.slack --config release.toml --target sandbox --env staging --version v0.1.0

It reads ``[targets.<t>.checks.slack]``, posts, and prints one JSON summary line last.
Exit codes: 0 posted, 1 the post failed, 2 usage or settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


class SlackError(Exception):
    """The webhook did not take the message; the message names the masked URL."""


def mask_webhook(url: str) -> str:
    """The webhook URL without its secret path: ``https://hooks.slack.com/services/***``."""
    split = urlsplit(url)
    if not split.scheme or not split.netloc:
        return "<not a URL>"
    host = split.hostname or "?"
    port = f":{split.port}" if split.port else ""
    first = split.path.strip("/").split("/", 1)[0]
    return f"{split.scheme}://{host}{port}/{first + '/' if first else ''}***"


def build_message(
    *, version: str, env: str, target: str, release_window: str, rollout_plan: Sequence[str], channel: str
) -> dict[str, Any]:
    """The announcement: a plain ``text`` fallback and Block Kit blocks with the same facts."""
    steps = "\n".join(f"{number}. {step}" for number, step in enumerate(rollout_plan, start=1))
    text = (
        f"ICUPA {version} release ({target}, {env}): release window {release_window}. "
        f"Rollout plan: {'; '.join(rollout_plan)}. Updates in {channel}."
    )
    return {
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"ICUPA {version}: release window"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Window*\n{release_window}"},
                    {"type": "mrkdwn", "text": f"*Target*\n{target} ({env})"},
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Rollout plan*\n{steps}"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Updates in {channel}; sent by the release gate"}],
            },
        ],
    }


def post_webhook(url: str, payload: dict[str, Any], *, timeout_s: float) -> None:
    """POST ``payload`` as JSON; anything but ``200 ok`` raises :class:`SlackError`."""
    where = mask_webhook(url)
    if urlsplit(url).scheme not in {"http", "https"}:
        raise SlackError(f"Slack webhook {where}: not an http(s) URL")
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False) as client:
            response = client.post(url, json=payload)
    except httpx.TimeoutException:
        raise SlackError(f"Slack webhook POST {where}: no answer within {timeout_s:g}s (timeout)") from None
    except httpx.HTTPError as exc:
        raise SlackError(f"Slack webhook POST {where}: cannot reach it: {type(exc).__name__}") from None
    said = response.text.strip()[:200]
    if response.status_code != 200 or said != "ok":
        raise SlackError(f"Slack webhook POST {where}: {response.status_code} {said or '(empty answer)'}")


def _settings(config: Path, target: str) -> Any:
    from checks.remote.settings import SettingsError, validate_sections  # noqa: PLC0415 - CLI only
    from plugin.config import ConfigError, load_release_config  # noqa: PLC0415 - CLI only

    try:
        release = load_release_config(config)
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    found = release.targets.get(target)
    if found is None:
        raise SettingsError(f"{config}: no target {target!r}")
    slack = validate_sections({"slack": found.checks["slack"]} if "slack" in found.checks else {}, target, str(config))
    if slack["slack"] is None:
        raise SettingsError(f"{config}: target {target!r} has no [targets.{target}.checks.slack] table")
    return slack["slack"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checks.remote.slack", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="release.toml")
    parser.add_argument("--target", required=True)
    parser.add_argument("--env", default="")
    parser.add_argument("--version", required=True)
    args = parser.parse_args(argv)
    from checks.remote.settings import SettingsError  # noqa: PLC0415 - CLI only

    summary: dict[str, Any] = {"command": "notify", "ok": False, "target": args.target, "version": args.version}
    try:
        slack = _settings(args.config, args.target)
    except SettingsError as exc:
        print(f"notify: {exc}", file=sys.stderr)
        summary["error"] = "settings"
        print(json.dumps(summary))
        return EXIT_USAGE
    url = os.environ.get(slack.webhook_env, "")
    summary["channel"] = slack.channel
    if not url:
        print(f"notify: the webhook variable {slack.webhook_env} is not set (or empty)", file=sys.stderr)
        summary["error"] = f"{slack.webhook_env} not set"
        print(json.dumps(summary))
        return EXIT_USAGE
    summary["webhook"] = mask_webhook(url)
    from plugin.templating import TemplateError, render  # noqa: PLC0415 - CLI only

    variables = {"version": args.version, "env": args.env or "none", "target": args.target}
    try:
        window = render(slack.release_window, variables, os.environ)
        plan = [render(step, variables, os.environ) for step in slack.rollout_plan]
    except TemplateError as exc:
        print(f"notify: targets.{args.target}.checks.slack in {args.config}: {exc}", file=sys.stderr)
        summary["error"] = "settings"
        print(json.dumps(summary))
        return EXIT_USAGE
    message = build_message(
        version=args.version,
        env=args.env or "none",
        target=args.target,
        release_window=window,
        rollout_plan=plan,
        channel=slack.channel,
    )
    try:
        post_webhook(url, message, timeout_s=slack.timeout_s)
    except SlackError as exc:
        print(f"notify: {exc}", file=sys.stderr)
        summary["error"] = str(exc)
        print(json.dumps(summary))
        return EXIT_FAILED
    print(f"notify: posted the {args.version} announcement to {summary['webhook']} ({slack.channel})", file=sys.stderr)
    summary.update(ok=True, text=message["text"])
    print(json.dumps(summary))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
