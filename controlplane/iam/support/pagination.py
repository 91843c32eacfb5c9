"""AWS's List* pagination: MaxItems (default 100, 1-1000), an opaque Marker, IsTruncated."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from awswire.errors import AwsError

__all__ = ["paginate"]

T = TypeVar("T")
DEFAULT_MAX_ITEMS = 100


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AwsError("ValidationError", "Invalid Marker.", 400) from None


def paginate(
    items: Sequence[T], params: dict[str, Any] | Any, key: Callable[[T], str]
) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` in ``key`` order and the IsTruncated/Marker members for it.

    The marker is the key of the first item of the next page, so pages stay consistent while
    items are added or removed between calls.
    """
    items = sorted(items, key=key)
    max_items = int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    start = 0
    if params.get("Marker"):
        after = _decode(str(params["Marker"]))
        start = next((i for i, item in enumerate(items) if key(item) >= after), len(items))
    page = list(items[start : start + max_items])
    if start + max_items < len(items):
        return page, {"IsTruncated": True, "Marker": _encode(key(items[start + max_items]))}
    return page, {"IsTruncated": False}
