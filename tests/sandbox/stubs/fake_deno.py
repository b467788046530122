#!/usr/bin/env python3
"""Stand-in for `deno run ... supabase/functions/serve.ts` in the sandbox's own tests.

Serves what the orchestrator relies on: `/functions/v1/health` with RELEASE_VERSION, a
`/metrics` text page, and the `VERIFY_JWT=1` switch (any bearer token passes here; the real
functions check the HS256 signature). A RELEASE_VERSION ending in `-crash` makes it die
right after start, the way a release with a broken import does.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        needs_token = os.environ.get("VERIFY_JWT") == "1"
        if needs_token and not self.headers.get("Authorization", "").startswith("Bearer "):
            self._send(401, "application/json", b'{"error":"missing jwt"}')
        elif self.path == "/functions/v1/health":
            body = {"status": "ok", "version": os.environ.get("RELEASE_VERSION")}
            self._send(200, "application/json", json.dumps(body).encode())
        elif self.path == "/metrics":
            self._send(200, "text/plain; version=0.0.4", b"fake_deno_up 1\n")
        else:
            self._send(404, "application/json", b'{"error":"not found"}')

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    if os.environ.get("RELEASE_VERSION", "").endswith("-crash"):
        print('error: Module not found "file:///functions/menu/index.ts" (fake crash)', file=sys.stderr)
        sys.exit(3)
    server = ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler)
    server.serve_forever()
