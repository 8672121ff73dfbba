"""Ferry python3 (fork) shim: the watchdog starts one process per request;
the request body is on stdin and what handle(req) returns is the response."""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_here, "function"))
# `ferry build --install-deps` puts requirements.txt's packages here.
sys.path.insert(1, os.path.join(_here, "function", ".python_packages"))
import handler  # noqa: E402


def get_stdin():
    return sys.stdin.read()


if __name__ == "__main__":
    ret = handler.handle(get_stdin())
    if ret is not None:
        sys.stdout.write(str(ret))
