"""The protocol-neutral shapes that cross the wire layer's edge: calls in, responses out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["ApiCall", "WireResponse"]


class ApiCall(NamedTuple):
    """A parsed request: the operation name and its params, shaped like boto3's kwargs.

    Values are Python types: ``str``, ``int``, ``float``, ``bool``, ``bytes`` (blobs),
    timezone-aware UTC ``datetime`` (timestamps), ``list``, and ``dict`` (structures, maps).
    """

    operation: str
    params: dict[str, Any]


@dataclass(frozen=True)
class WireResponse:
    """A serialized response ready for any HTTP server: status, headers and body bytes."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
