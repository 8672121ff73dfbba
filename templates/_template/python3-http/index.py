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
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "function"))
# `ferry build --install-deps` puts requirements.txt's packages here.
sys.path.insert(1, os.path.join(_here, "function", ".python_packages"))
import handler  # noqa: E402


# Longest chunk-size or trailer line read (as http.client's _MAXLINE).
MAX_LINE = 65536


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

    def _read_body(self):
        """The request body: chunked (the watchdog streams bodies of unknown
        length that way) or Content-Length. Reading all of it keeps the
        connection in step for the next request."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline(MAX_LINE).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass  # trailers: ignored
                    return b"".join(chunks)
                chunk = self.rfile.read(size)
                if len(chunk) != size or self.rfile.readline(MAX_LINE).strip():
                    raise ValueError("truncated chunk")
                chunks.append(chunk)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _serve(self):
        try:
            body = self._read_body()
        except ValueError as exc:  # a malformed body: the connection is out of step
            self.close_connection = True
            self._send_text(400, "bad request body: %s\n" % exc)
            return
        url = urlsplit(self.path)
        query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(url.query).items()}
        event = Event(body, dict(self.headers), self.command, query, url.path)
        try:
            res = handler.handle(event, Context())
        except Exception as exc:  # the function's own error: a 500 with its message,
            traceback.print_exc()  # and the traceback in the function's logs
            sys.stderr.flush()
            self._send_text(500, "handler error: %s\n" % exc)
            return
        if not isinstance(res, dict):
            res = {"statusCode": 200, "body": "" if res is None else res}
        headers = dict(res.get("headers") or {})
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        out = format_body(res, content_type)
        if not content_type and isinstance(res.get("body"), (dict, list)):
            headers["Content-Type"] = "application/json"  # as OpenFaaS's template (jsonify)
        self.send_response(int(res.get("statusCode", 200)))
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def _send_text(self, code, text):
        out = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
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
