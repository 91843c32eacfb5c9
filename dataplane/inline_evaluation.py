"""``POST /evaluate``: the engine on inline policies, served by every replica.

The body is one docs/evaluate-input.md object or a JSON array of them; the answer is what
``iam-planes evaluate`` prints for it (a decision or an error object each), plus the version,
region and AZ of the replica that answered. Nothing is read from the replicated state: the
version only says which replica (and which engine) answered, as every data-plane answer does.
The control plane answers SimulateCustomPolicy (and the PolicyInputList of
SimulatePrincipalPolicy) through this route, as real IAM simulates on its data plane.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from dataplane.evaluation import evaluate_document
from dataplane.replica import Replica

__all__ = ["MAX_DOCUMENTS", "evaluate_handler"]

#: the most queries one /evaluate call may hold (each carries its own policies)
MAX_DOCUMENTS = 1000


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _error(code: str, message: str, status: int) -> web.Response:
    return _json({"error": {"code": code, "message": message}}, status)


def evaluate_handler(replica: Replica) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The ``/evaluate`` handler of one replica's application."""

    async def evaluate(request: web.Request) -> web.Response:
        """Evaluate one inline query or a batch of them, naming the replica that answered."""
        try:
            raw: Any = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _error("MalformedQueryString", "The request body is not valid JSON.", 400)
        identity = replica.identity
        stamp = {
            "version": replica.state.version,
            "region": identity.region,
            "az": identity.az,
        }
        if isinstance(raw, list):
            if len(raw) > MAX_DOCUMENTS:
                message = f"A batch holds at most {MAX_DOCUMENTS} queries."
                return _error("ValidationError", message, 400)
            return _json([{**evaluate_document(item, with_accounts=True), **stamp} for item in raw])
        return _json({**evaluate_document(raw, with_accounts=True), **stamp})

    return evaluate
