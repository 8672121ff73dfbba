"""Ferry python3-http shim: a standard-library HTTP server on 127.0.0.1
that calls function/handler.py's handle(event, context), like OpenFaaS's
python3-http template. The watchdog (mode=http) proxies to it. Its port is
per replica (several replicas share a host under Ferry's process runtime):
upstream_port, else the port of upstream_url, else http_port or PORT, else
5000."""
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "function"))
import handler  # noqa: E402


class Event:
    def __init__(self, body, headers, method, query, path):
        self.body = body
        self.headers = headers
        self.method = method
        self.query = query
        self.path = path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", socket.gethostname())


def format_body(res, content_type):
    if content_type == "application/octet-stream" and isinstance(res.get("body"), (bytes, bytearray)):
        return bytes(res["body"])
    body = res.get("body", "")
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode()
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    return str(body).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()}
        event = Event(body, dict(self.headers), self.command, query, url.path)
        try:
            res = handler.handle(event, Context())
        except Exception as exc:  # the function's own error: a 500 with its message
            out = ("handler error: %s\n" % exc).encode()
            self.send_response(500)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        if not isinstance(res, dict):
            res = {"statusCode": 200, "body": "" if res is None else res}
        headers = res.get("headers") or {}
        out = format_body(res, headers.get("Content-Type", ""))
        self.send_response(int(res.get("statusCode", 200)))
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def log_message(self, fmt, *args):  # keep stdout for the function's own logs
        pass


def listen_port(default):
    if os.getenv("upstream_port"):
        return int(os.environ["upstream_port"])
    url = os.getenv("upstream_url")
    if url and urlsplit(url).port:
        return urlsplit(url).port
    for key in ("http_port", "PORT"):
        if os.getenv(key):
            return int(os.environ[key])
    return default


if __name__ == "__main__":
    port = listen_port(5000)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
