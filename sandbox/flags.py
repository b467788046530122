"""The workspace's feature-flags CLI against a sandbox environment's database.

    python -m sandbox.flags [--env staging] enable <flag> --tenants a,b [--by who]
    python -m sandbox.flags [--env staging] disable <flag> --tenants a,b [--by who]
    python -m sandbox.flags [--env staging] list [--flag f] [--tenants a,b]

Runs ``pnpm --dir <workspace> flags:<verb> ...`` (scripts/flags.mjs) with ``DATABASE_URL``
set to the environment's DSN, which only the sandbox knows and which is never printed. The
CLI's own output (one JSON line per tenant) and exit code are passed through; 124 is a
timeout, 127 a missing pnpm.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence

from sandbox.platform import Sandbox

TIMEOUT_S = 60.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.flags", description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=("staging", "production"), default="staging")
    parser.add_argument("verb", choices=("enable", "disable", "list"))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="the flags CLI's own arguments")
    args = parser.parse_args(argv)
    box = Sandbox.for_env(args.env)
    command = [box.config.tools.pnpm, "--dir", str(box.config.workspace.root), f"flags:{args.verb}", *args.rest]
    try:
        done = subprocess.run(
            command,
            env={**os.environ, "DATABASE_URL": box.dsn()},
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        print(f"sandbox.flags: {command[0]!r} not found on PATH", file=sys.stderr)
        return 127
    except subprocess.TimeoutExpired:
        print(f"sandbox.flags: flags:{args.verb} timed out after {TIMEOUT_S:g}s", file=sys.stderr)
        return 124
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
