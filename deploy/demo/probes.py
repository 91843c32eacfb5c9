"""Watching every replica at once: what each one answers, and when its answer changed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = ["Asker", "Flip", "Probe", "ask_all", "watch_answers", "watch_until"]

_TIMEOUT = aiohttp.ClientTimeout(total=3)


@dataclass
class Flip:
    """One replica's answers over time: (seconds since the start, answer) at each change."""

    az: str
    changes: list[tuple[float, str]] = field(default_factory=list)

    @property
    def answers(self) -> list[str]:
        """The distinct answers in the order they appeared."""
        return [answer for _, answer in self.changes]

    def then(self, later: Flip) -> Flip:
        """This history followed by ``later``'s, without repeating an unchanged answer."""
        merged = Flip(self.az, list(self.changes))
        for at, answer in later.changes:
            if not merged.changes or merged.changes[-1][1] != answer:
                merged.changes.append((at, answer))
        return merged

    def first(self, answer: str) -> float | None:
        """When the replica first gave ``answer`` (seconds since the start), if it did."""
        return next((at for at, given in self.changes if given == answer), None)


@dataclass(frozen=True)
class Probe:
    """One authorization question to put to every replica."""

    query: dict[str, Any]

    @staticmethod
    def of_key(access_key_id: str, action: str, resource: str) -> Probe:
        """The question "may the owner of this key do ``action`` on ``resource``?"."""
        return Probe(
            {"principal": {"access_key_id": access_key_id}, "action": action, "resource": resource}
        )


async def _ask(session: aiohttp.ClientSession, url: str, probe: Probe) -> str:
    try:
        async with session.post(f"{url}/authorize", json=probe.query) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return "unreachable"
    if "error" in body:
        return str(body["error"]["code"])
    return str(body["decision"])


async def ask_all(replicas: dict[str, str], probe: Probe) -> dict[str, str]:
    """Every replica's current answer to ``probe``."""
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        answers = await asyncio.gather(*(_ask(session, url, probe) for url in replicas.values()))
    return dict(zip(replicas, answers, strict=True))


#: one answer from one target: (session, target name, endpoint) -> the answer as text
Asker = Callable[[aiohttp.ClientSession, str, str], Awaitable[str]]


async def watch_answers(
    targets: dict[str, str],
    ask: Asker,
    done: Callable[[dict[str, str]], bool],
    *,
    started: float,
    timeout: float,
    interval: float,
) -> dict[str, Flip]:
    """Ask every target (name -> endpoint) repeatedly until ``done(answers)`` or ``timeout``;
    record each target's answers as they change."""
    flips = {name: Flip(name) for name in targets}
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        while True:
            answers = await asyncio.gather(
                *(ask(session, name, url) for name, url in targets.items())
            )
            now = time.time() - started
            current = dict(zip(targets, answers, strict=True))
            for name, answer in current.items():
                flip = flips[name]
                if not flip.changes or flip.changes[-1][1] != answer:
                    flip.changes.append((now, answer))
            if done(current) or time.monotonic() > deadline:
                return flips
            await asyncio.sleep(interval)


async def watch_until(
    replicas: dict[str, str],
    probe: Probe,
    done: Callable[[dict[str, str]], bool],
    *,
    started: float,
    timeout: float,
    interval: float = 0.02,
) -> dict[str, Flip]:
    """Ask every replica repeatedly until ``done(answers)`` or ``timeout``; record the flips."""
    return await watch_answers(
        replicas,
        lambda session, _az, url: _ask(session, url, probe),
        done,
        started=started,
        timeout=timeout,
        interval=interval,
    )
