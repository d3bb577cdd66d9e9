"""Debian's real redis-server with the deployment's umami/redis/redis.conf, on loopback.

Why a real one: Umami 3.1 changes what it does when REDIS_URL is set (website lookups come from
the cache, dashboard logins become keys in it), and the deployment sets it (compose.yaml), so the
suite runs Umami against the same Redis server and configuration the deployment runs. Only what
differs between a container and a test is given on the command line: the address (loopback and a
free port instead of the `cache` network), the password (a test value), and the directory (the
session's, which stays empty: the configuration writes nothing to disk).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .processes import log_tail
from .source import REPO, SetupError

CONF = REPO / "umami" / "redis" / "redis.conf"
PASSWORD = "test-only-redis-password"


@dataclass
class Redis:
    port: int
    work: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """What Umami's REDIS_URL is set to (as compose.yaml builds it, on loopback)."""
        return f"redis://:{PASSWORD}@127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.work / "redis.log"

    def cli(self, *args: str) -> str:
        """redis-cli against this server (the password from REDISCLI_AUTH, never in argv)."""
        out = subprocess.run(["redis-cli", "--raw", "-h", "127.0.0.1", "-p", str(self.port), *args],
                             capture_output=True, text=True, timeout=30,
                             env={**os.environ, "REDISCLI_AUTH": PASSWORD})
        if out.returncode != 0:
            raise RuntimeError(f"redis-cli {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def keys(self) -> list[str]:
        return sorted(line for line in self.cli("--scan").splitlines() if line)

    def start(self) -> Redis:
        server = shutil.which("redis-server")
        if not server or not shutil.which("redis-cli"):
            raise SetupError("redis-server is required for the real-Umami tests: "
                             "apt-get install redis-server (scripts/test installs it)")
        self.work.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [server, str(CONF), "--bind", "127.0.0.1", "--port", str(self.port),
                 "--requirepass", PASSWORD, "--dir", str(self.work)],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError(f"redis-server exited with {self.proc.returncode} while starting; "
                                 f"last lines of {self.log}:\n{log_tail(self.log)}")
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                if self.cli("ping") == "PONG":
                    return self
            time.sleep(0.1)
        self.stop()
        raise SetupError(f"redis-server did not answer on 127.0.0.1:{self.port} within 15 s; "
                         f"last lines of {self.log}:\n{log_tail(self.log)}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
