"""Finding free loopback ports for a cluster (tests and benchmarks start their own)."""

from __future__ import annotations

import random
import socket

__all__ = ["free_port_block"]

# Below Linux's ephemeral range (32768-60999): outgoing connections never take these ports, so
# a block found free stays free until the cluster binds it, and the TIME_WAIT sockets a busy
# test run leaves behind in the ephemeral range do not make every block look taken.
_LOWEST, _HIGHEST = 10_000, 32_000
_ATTEMPTS = 500


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        # the servers bind with SO_REUSEADDR, so a port held only by TIME_WAIT is free to them
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(size: int = 50) -> int:
    """The first port of ``size`` consecutive ports that are free on loopback right now."""
    for _ in range(_ATTEMPTS):
        base = random.randrange(_LOWEST, _HIGHEST - size)
        if all(_is_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no block of free ports")
