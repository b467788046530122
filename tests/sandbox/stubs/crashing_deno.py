#!/usr/bin/env python3
"""Stand-in for a Deno edge-functions process that dies right after start."""

import sys

print('error: Module not found "file:///functions/menu/index.ts" (fake crash for the sandbox tests)', file=sys.stderr)
sys.exit(3)
