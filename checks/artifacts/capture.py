"""Run a reporting tool and keep its report, letting the gate rather than the exit code judge it.

    python checks/artifacts/capture.py --output REPORT [--accept CODE ...] [--timeout S] -- COMMAND ...

Linters, auditors and scanners exit non-zero when they *find* something (ESLint 1 for lint
errors, ``pnpm audit`` 1 for advisories, gitleaks 1 for leaks), and as a release action that
would fail the action before the gate's parser could say what was found. This runs COMMAND
without a shell, writes its stdout to REPORT (via a temporary file, then an atomic rename),
passes its stderr through, and exits 0 when COMMAND exited with 0 or an ``--accept``-ed code
and wrote something. Any other exit code, no output, a missing command or a timeout exits
non-zero, so a tool that could not run is a failed action, never a clean report.

Standard library only: it runs as a script from any working directory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

_DEFAULT_TIMEOUT_S = 1800.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="capture.py", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--output", required=True, type=Path, help="where the command's stdout is kept")
    parser.add_argument(
        "--accept", type=int, action="append", default=[], metavar="CODE", help="a finding exit code (repeatable)"
    )
    parser.add_argument("--timeout", type=float, default=_DEFAULT_TIMEOUT_S, metavar="S")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    accepted = {0, *args.accept}
    try:
        with partial.open("wb") as handle:
            done = subprocess.run(command, stdout=handle, stdin=subprocess.DEVNULL, timeout=args.timeout, check=False)
    except FileNotFoundError:
        print(f"capture: command {command[0]!r} not found on PATH", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return 127
    except subprocess.TimeoutExpired:
        print(f"capture: {command[0]} timed out after {args.timeout:g}s", file=sys.stderr)
        partial.unlink(missing_ok=True)
        return 124
    size = partial.stat().st_size
    os.replace(partial, output)
    print(f"capture: {' '.join(command)} exited {done.returncode}; {size} bytes in {output}", file=sys.stderr)
    if done.returncode not in accepted:
        print(f"capture: exit code {done.returncode} is not a report (accepted: {sorted(accepted)})", file=sys.stderr)
        return done.returncode if done.returncode > 0 else 1
    if size == 0:
        print("capture: the command wrote no report", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
