"""A local forwarder that adds a bearer token, so that a browser can open a signed-in page.

Chromium's command line cannot send an Authorization header; the report page is bureau-only.
The forwarder listens on 127.0.0.1, adds the header, and passes the server's status, body and
headers (its Content-Security-Policy included) back unchanged. It records every path asked.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2 as httpx

PASSED_HEADERS = ("content-type", "content-security-policy", "x-content-type-options")


@contextmanager
def bearer_proxy(upstream: str, token: str) -> Iterator[tuple[str, list[str]]]:
    """Serve until the block ends: (the forwarder's base URL, the paths it was asked for)."""
    paths: list[str] = []

    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            answer = httpx.get(
                upstream + self.path, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            self.send_response(answer.status_code)
            for name in PASSED_HEADERS:
                if name in answer.headers:
                    self.send_header(name, answer.headers[name])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", paths
    finally:
        httpd.shutdown()
        httpd.server_close()
