"""A scripted HTTP server for unit tests: answers queued responses and
records every request."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

Answer = Tuple[int, Dict[str, str], bytes]


def problem(status: int, kind: str, **extra: Any) -> Answer:
    """A problem+json answer."""
    body = {"type": "https://gatehouse.dev/problems/" + kind, "title": kind, "status": status, **extra}
    return status, {"Content-Type": "application/problem+json"}, json.dumps(body).encode()


def ok(body: Any, status: int = 200) -> Answer:
    """A JSON answer."""
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


class Fake:
    """Answers from ``script`` in order (the last one repeats), or from
    ``handler(method, path, body)`` when set."""

    def __init__(self, script: Optional[List[Answer]] = None,
                 handler: Optional[Callable[[str, str, Any], Answer]] = None) -> None:
        self.script = list(script or [])
        self.handler = handler
        self.requests: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        fake = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _do(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                body = json.loads(raw) if raw else None
                with fake.lock:
                    fake.requests.append({"method": self.command, "path": self.path, "body": body,
                                          "headers": dict(self.headers)})
                    if fake.handler is not None:
                        ans = fake.handler(self.command, self.path, body)
                    else:
                        ans = fake.script.pop(0) if len(fake.script) > 1 else fake.script[0]
                status, headers, data = ans
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _do

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
