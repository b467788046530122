"""`python -m sandbox ...`: progress on stderr, one JSON summary line last on stdout.

Exit codes: 0 ok, 1 failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Final

from sandbox import baseline, deploy
from sandbox.faults import FAULTS, parse_assignments
from sandbox.layout import ENVIRONMENTS, SandboxUsageError, parse_env
from sandbox.platform import Report, Sandbox
from sandbox.state import SandboxError

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


def build_parser() -> argparse.ArgumentParser:
    env_option = argparse.ArgumentParser(add_help=False)
    env_option.add_argument(
        "--env", default="staging", choices=ENVIRONMENTS, help="environment to act on (default: staging)"
    )

    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="The miniature ICUPA that the release gate deploys to."
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("up", parents=[env_option], help="start every part (idempotent) and health-check it")
    status = verbs.add_parser("status", parents=[env_option], help="endpoints, versions and health of each part")
    status.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    verbs.add_parser("down", parents=[env_option], help="stop every process the sandbox started and free its ports")

    fault = verbs.add_parser("fault", help="switch faults on and off").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    fault_set = fault.add_parser(
        "set", parents=[env_option], help="set KEY=VALUE ... (keys: " + ", ".join(FAULTS) + ")"
    )
    fault_set.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    fault.add_parser("clear", parents=[env_option], help="switch every fault off")

    deploy_verbs = verbs.add_parser("deploy", help="the runbook's staging steps").add_subparsers(
        dest="step", required=True, metavar="STEP"
    )
    deploy_verbs.add_parser("migrations", parents=[env_option], help="supabase db push, pgTAP, backfill")
    functions = deploy_verbs.add_parser(
        "functions", parents=[env_option], help="restart the edge functions on a version"
    )
    functions.add_argument("--version", required=True)
    functions.add_argument("--verify-jwt", action="store_true", help="require an HS256 JWT on every call")
    agents = deploy_verbs.add_parser("agents", parents=[env_option], help="build, package, blue/green switch")
    agents.add_argument("--version", required=True)
    web = deploy_verbs.add_parser("web", parents=[env_option], help="build and switch the active web release")
    web.add_argument("--version", required=True)

    promote = verbs.add_parser("promote", help="ship what another environment serves").add_subparsers(
        dest="step", required=True, metavar="STEP"
    )
    promote_agents = promote.add_parser(
        "agents", parents=[env_option], help="the agents artifact the source environment serves, by digest"
    )
    promote_agents.add_argument("--from", dest="source", required=True, choices=ENVIRONMENTS)
    promote_agents.add_argument("--version", required=True, help="the release the source must serve")

    baseline_verb = verbs.add_parser(
        "baseline", parents=[env_option], help="deploy an earlier release once, if this environment never had one"
    )
    baseline_verb.add_argument("--version", required=True, help="the previous release, e.g. v0.0.9")
    rollback = verbs.add_parser("rollback", help="redeploy an earlier release").add_subparsers(
        dest="step", required=True, metavar="STEP"
    )
    rollback_agents = rollback.add_parser("agents", parents=[env_option], help="redeploy an agents artifact by digest")
    rollback_agents.add_argument("--digest", required=True, help="sha256:<hex> as printed by deploy agents")
    return parser


VERBS: Final[dict[str, Callable[[Sandbox, argparse.Namespace], Report]]] = {
    "up": lambda sandbox, _: sandbox.up(),
    "down": lambda sandbox, _: sandbox.down(),
    "status": lambda sandbox, _: sandbox.status(),
    "fault set": lambda sandbox, args: sandbox.set_faults(parse_assignments(args.assignments)),
    "fault clear": lambda sandbox, _: sandbox.clear_faults(),
    "deploy migrations": lambda sandbox, _: deploy.deploy_migrations(sandbox),
    "deploy functions": lambda sandbox, args: deploy.deploy_functions(sandbox, args.version, args.verify_jwt),
    "deploy agents": lambda sandbox, args: deploy.deploy_agents(sandbox, args.version),
    "deploy web": lambda sandbox, args: deploy.deploy_web(sandbox, args.version),
    "rollback agents": lambda sandbox, args: deploy.rollback_agents(sandbox, args.digest),
    "promote agents": lambda sandbox, args: deploy.promote_agents(
        sandbox, Sandbox.for_env(parse_env(args.source)), args.version
    ),
    "baseline": lambda sandbox, args: baseline.ensure_baseline(sandbox, args.version),
}


def _verb(args: argparse.Namespace) -> str:
    return " ".join(
        str(word) for word in (args.verb, getattr(args, "action", None) or getattr(args, "step", None)) if word
    )


def _dispatch(args: argparse.Namespace) -> Report:
    return VERBS[_verb(args)](Sandbox.for_env(parse_env(args.env)), args)


def render_status(report: Report) -> str:
    running = bool(report.data.get("running"))
    overall = "not running" if not running else "healthy" if report.ok else "not healthy"
    lines = [f"sandbox {report.env}: {overall}"]
    lines.append(f"  {'part':<15} {'state':<10} {'port':>6} {'pid':>8}  detail")
    for part in report.parts:
        lines.append(f"  {part.name:<15} {part.action:<10} {part.port or '':>6} {part.pid or '':>8}  {part.detail}")
    lines.append("endpoints:")
    lines.extend(f"  {name:<11} {url}" for name, url in report.data.get("endpoints", {}).items())
    lines.append("versions:")
    lines.extend(f"  {name:<22} {value}" for name, value in report.data.get("versions", {}).items())
    active = report.data.get("faults") or {}
    lines.append("faults: " + (", ".join(f"{k}={v}" for k, v in active.items()) or "none"))
    lines.extend(report.messages)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        report = _dispatch(args)
    except SandboxUsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"python -m sandbox: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SandboxError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        print(json.dumps({"command": _verb(args), "env": args.env, "ok": False, "messages": [str(exc)]}), flush=True)
        return EXIT_FAILED
    if args.verb == "status" and not args.json:
        print(render_status(report))
    else:
        for part in report.parts:
            timing = f" in {part.seconds:.2f}s" if part.seconds else ""
            print(f"  {part.name:<17} {part.action}{timing}  {part.detail}".rstrip(), file=sys.stderr)
        for message in report.messages:
            print(message, file=sys.stderr)
        print(json.dumps(report.summary(), default=str), flush=True)
    return EXIT_OK if report.ok else EXIT_FAILED
