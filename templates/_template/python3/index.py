"""Ferry python3 (fork) shim: the watchdog starts one process per request;
the request body is on stdin and what handle(req) returns is the response."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "function"))
import handler  # noqa: E402


def get_stdin():
    return sys.stdin.read()


if __name__ == "__main__":
    ret = handler.handle(get_stdin())
    if ret is not None:
        sys.stdout.write(str(ret))
