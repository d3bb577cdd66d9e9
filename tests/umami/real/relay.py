"""A TCP relay inside the visitor's namespace: 127.0.0.x:port there -> the same port here.

Why: the site's settings allow plain http only on a loopback origin (production is https), so
the browser test builds the site with loopback origins (http://127.0.0.1:port ...). Inside the
namespace those loopback addresses are the namespace's own; this relay, running there, opens
each connection to the host side of the veth pair, so Caddy's TCP peer is the visitor's
non-local address, as on the internet. It copies bytes both ways and changes nothing.

Run as a script: relay.py TARGET_HOST LISTEN_HOST:PORT [LISTEN_HOST:PORT ...]; prints "ready".
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

from .netns import Namespace


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


async def _serve(target: str, listens: list[tuple[str, int]]) -> None:
    def handler(port: int):
        async def handle(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection(target, port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        return handle

    servers = [await asyncio.start_server(handler(port), host, port) for host, port in listens]
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


@contextlib.contextmanager
def relaying(ns: Namespace, listens: list[tuple[str, int]]):
    """Run the relay in `ns` for the `with` block: each (127.0.0.x, port) -> host_ip:port."""
    argv = ns.run(sys.executable, "-c", "import sys; from real.relay import main; main()",
                  ns.host_ip, *(f"{host}:{port}" for host, port in listens))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).resolve().parents[1]))
    try:
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError(f"the namespace relay did not start: {proc.stderr.read()}")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    target, *listens = sys.argv[1:]
    pairs = [(item.rsplit(":", 1)[0], int(item.rsplit(":", 1)[1])) for item in listens]
    asyncio.run(_serve(target, pairs))
