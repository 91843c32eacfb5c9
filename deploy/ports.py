"""Finding free loopback ports for a cluster (tests and benchmarks start their own)."""

from __future__ import annotations

import socket

__all__ = ["free_port_block"]


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        # a port whose old connections linger in TIME_WAIT is free for a server: redis-server,
        # aiohttp and moto's werkzeug all listen with SO_REUSEADDR, so the probe does too
        # (without it, a busy machine's thousands of TIME_WAIT ports leave no free block)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(size: int = 50) -> int:
    """The first port of ``size`` consecutive ports that are free on loopback right now."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + size >= 65535:
            continue
        if all(_is_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no block of free ports")
