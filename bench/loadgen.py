"""A low-overhead HTTP/1.1 keep-alive load generator, run as its own process.

``python -m bench.loadgen --url http://127.0.0.1:P/authorize --bodies FILE --concurrency 32``

Each of ``concurrency`` clients holds one keep-alive connection and sends POSTs back to back
(a closed loop: the next request leaves when the previous answer is read). The bodies come from
a JSON file (a list of JSON documents); client ``i`` starts at body ``i`` and cycles. Requests
that complete during the warm-up are not counted; after it, every request completed within
``duration`` seconds is counted and its latency (request written to answer read) recorded.
Prints one JSON object: requests/s, latency percentiles, statuses, errors.

Raw asyncio streams instead of an HTTP client library: the client shares the 2 cores with the
servers, so every microsecond it spends is one the servers do not get.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.figures import percentile

__all__ = ["LoadResult", "main", "run_load"]


@dataclass
class LoadResult:
    """What the clients saw during the measured window."""

    duration_s: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    first_answers: list[Any] = field(default_factory=list)

    def summary(self, items_per_request: int) -> dict[str, Any]:
        """The JSON the parent process reads."""
        count = len(self.latencies_ms)
        ok = self.statuses.get(200, 0)
        summary: dict[str, Any] = {
            "requests": count,
            "duration_s": self.duration_s,
            "requests_per_s": count / self.duration_s,
            "items_per_s": ok * items_per_request / self.duration_s,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors[:10],
            "error_count": len(self.errors),
            "first_answers": self.first_answers[:3],
        }
        if count:
            summary |= {
                "p50_ms": percentile(self.latencies_ms, 0.50),
                "p90_ms": percentile(self.latencies_ms, 0.90),
                "p99_ms": percentile(self.latencies_ms, 0.99),
                "max_ms": max(self.latencies_ms),
            }
        return summary


def _requests(host: str, port: int, path: str, bodies: list[bytes]) -> list[bytes]:
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
    return [f"{head}Content-Length: {len(b)}\r\n\r\n".encode() + b for b in bodies]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = await reader.readuntil(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise RuntimeError("answer without Content-Length (chunked answers are not supported)")
    return status, await reader.readexactly(length)


@dataclass(frozen=True)
class _Target:
    host: str
    port: int
    requests: list[bytes]


async def _client(
    index: int, target: _Target, window: tuple[float, float], result: LoadResult
) -> None:
    start, end = window
    requests = target.requests
    reader, writer = await asyncio.open_connection(target.host, target.port)
    position = index % len(requests)
    try:
        while True:
            sent = time.perf_counter()
            if sent >= end:
                return
            writer.write(requests[position])
            status, body = await _read_answer(reader)
            done = time.perf_counter()
            if index == 0 and len(result.first_answers) < 3:
                answer = orjson.loads(body)
                result.first_answers.append(answer[:3] if isinstance(answer, list) else answer)
            position = (position + 1) % len(requests)
            if start <= sent and done <= end:
                result.latencies_ms.append((done - sent) * 1000)
                result.statuses[status] = result.statuses.get(status, 0) + 1
    except (OSError, asyncio.IncompleteReadError, RuntimeError) as error:
        result.errors.append(f"client {index}: {type(error).__name__}: {error}")
    finally:
        writer.close()


async def run_load(
    url: str, bodies: list[bytes], concurrency: int, duration: float, warmup: float
) -> LoadResult:
    """Drive ``url`` with ``concurrency`` keep-alive clients; measure after ``warmup`` seconds."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = _Target(host, port, _requests(host, port, parts.path or "/", bodies))
    now = time.perf_counter()
    window = (now + warmup, now + warmup + duration)
    result = LoadResult(duration_s=duration)
    await asyncio.gather(*(_client(i, target, window, result) for i in range(concurrency)))
    return result


def main() -> None:
    """Entry point: run the load and print its summary as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--bodies", required=True, type=Path, help="JSON list of bodies")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--items-per-request", type=int, default=1)
    args = parser.parse_args()
    documents: list[Any] = json.loads(args.bodies.read_text())
    bodies = [orjson.dumps(d) for d in documents]
    result = asyncio.run(run_load(args.url, bodies, args.concurrency, args.duration, args.warmup))
    print(json.dumps(result.summary(args.items_per_request)))


if __name__ == "__main__":
    main()
