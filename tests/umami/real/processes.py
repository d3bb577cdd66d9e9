"""Start and stop the real servers (Umami's `node server.js`, Caddy) as child processes.

Why here and not in the fixture: a server that does not come up must say so with its own log
(the last lines), not with a timeout traceback, and a stopped server must be gone before the
next one takes its port.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import time
from pathlib import Path

from .source import SetupError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
    return ""


class Server:
    """One child process with its output in `log`; `ready` polls an HTTP URL until it answers."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path, cwd: Path | None = None):
        self.name, self.argv, self.env, self.log, self.cwd = name, argv, env, log, cwd
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Server":
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_http(self, host: str, port: int, path: str, host_header: str | None = None,
                  timeout: float = 90) -> None:
        """Wait until GET path answers (any status below 500), or fail with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"{self.name} exited with {self.proc.returncode} while starting; "
                                 f"last lines of {self.log}:\n{log_tail(self.log)}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection(host, port, timeout=2)
                conn.request("GET", path, headers={"Host": host_header} if host_header else {})
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    return
            time.sleep(0.2)
        self.stop()
        raise SetupError(f"{self.name} did not answer GET {path} on {host}:{port} within "
                         f"{timeout:.0f}s; last lines of {self.log}:\n{log_tail(self.log)}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
