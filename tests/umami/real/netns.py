"""A network namespace with a veth pair: a visitor address that is not this machine's.

Why: Umami skips the geo lookup for every address the machine itself can bind
(`is-localhost-ip`: loopback, private ranges, local interfaces), so a visitor on loopback never
gets a country. Inside a namespace the visitor owns a documentation address (198.51.100.0/24,
RFC 5737) that the main namespace only routes to; Caddy sees it as the TCP peer, exactly like a
visitor on the internet. Traffic never leaves the machine: the namespace has one link, to here.
Each session takes its own /30 of that range, so parallel runs on one machine do not collide.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from dataclasses import dataclass

from .source import SetupError

VISITOR_RANGE = ipaddress.ip_network("198.51.100.0/24")


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True)


def _taken() -> set[str]:
    out = _ip("-o", "-4", "addr", "show").stdout
    return {field.split("/")[0] for line in out.splitlines() for field in line.split()[3:4]}


@dataclass(frozen=True)
class Namespace:
    name: str
    host_link: str
    host_ip: str      # this side of the veth pair: Caddy listens here
    visitor_ip: str   # the visitor's address, inside the namespace

    def run(self, *cmd: str) -> list[str]:
        """A command line that runs `cmd` inside the namespace."""
        return ["ip", "netns", "exec", self.name, *cmd]


def create() -> Namespace:
    """Make the namespace and the veth pair; raise SetupError if this machine cannot."""
    if os.geteuid() != 0:
        raise SetupError("the real-Umami tests need root to create a network namespace "
                         "(ip netns add); run the suite as root, as CI does")
    if not _ip("-V").returncode == 0:
        raise SetupError("the ip command is required: apt-get install iproute2")
    pid = os.getpid()
    subnets = list(VISITOR_RANGE.subnets(new_prefix=30))
    taken = _taken()
    for offset in range(len(subnets)):
        subnet = subnets[(pid + offset) % len(subnets)]
        host_ip, visitor_ip = (str(a) for a in list(subnet.hosts())[:2])
        if host_ip not in taken:
            break
    else:
        raise SetupError(f"every /30 of {VISITOR_RANGE} is in use on this machine")
    ns = Namespace(f"legalsite-{pid}", f"lsv{pid % 10**9}", host_ip, visitor_ip)
    peer = f"lsp{pid % 10**9}"
    steps = [
        ("netns", "add", ns.name),
        ("link", "add", ns.host_link, "type", "veth", "peer", "name", peer),
        ("link", "set", peer, "netns", ns.name),
        ("addr", "add", f"{host_ip}/30", "dev", ns.host_link),
        ("link", "set", ns.host_link, "up"),
        ("-n", ns.name, "addr", "add", f"{visitor_ip}/30", "dev", peer),
        ("-n", ns.name, "link", "set", peer, "up"),
        ("-n", ns.name, "link", "set", "lo", "up"),
    ]
    for step in steps:
        result = _ip(*step)
        if result.returncode != 0:
            delete(ns)
            raise SetupError(f"could not set up the visitor namespace (ip {' '.join(step)}): "
                             f"{result.stderr.strip()}")
    return ns


def delete(ns: Namespace) -> None:
    _ip("link", "del", ns.host_link)
    _ip("netns", "del", ns.name)
