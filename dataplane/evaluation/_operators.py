"""Typed value tests of condition operators (docs/evaluation.md R34, R35), built once per condition.

A value test answers, for one request value, whether it matches *some* policy value of the
positive operator (``True``/``False``), or ``None`` when the request value cannot be read as
the operator's type (a type failure never satisfies the condition, negated or not).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from dataplane.evaluation._glob import compile_glob_set

__all__ = ["ValueTest", "parse_date", "parse_number", "static_value_test"]

ValueTest = Callable[[str], "bool | None"]
_Compare = Callable[[float, float], bool]
_MEMO_LIMIT = 4096

_COMPARISONS: dict[str, _Compare] = {
    "Equals": operator.eq,
    "NotEquals": operator.eq,  # negation is applied by the caller (R28)
    "LessThan": operator.lt,
    "LessThanEquals": operator.le,
    "GreaterThan": operator.gt,
    "GreaterThanEquals": operator.ge,
}


def parse_number(text: str) -> float | None:
    """A number in AWS's decimal text form, or ``None``."""
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number


def parse_date(text: str) -> float | None:
    """An ISO-8601 date/time or epoch seconds, as epoch seconds; ``None`` if unreadable."""
    number = parse_number(text)
    if number is not None:
        return number
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _ordered(
    parse: Callable[[str], float | None], compare: _Compare, values: Sequence[str]
) -> ValueTest:
    # R34: a policy value that does not parse never matches
    bounds = [bound for bound in map(parse, values) if bound is not None]

    def test(value: str) -> bool | None:
        number = parse(value)
        if number is None:
            return None
        for bound in bounds:  # noqa: SIM110 - a loop, not any(generator): runs per request
            if compare(number, bound):
                return True
        return False

    return test


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _binary(values: Sequence[str]) -> ValueTest:
    wanted = frozenset(blob for blob in map(_decode, values) if blob is not None)

    def test(value: str) -> bool | None:
        blob = _decode(value)
        return None if blob is None else blob in wanted

    return test


_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _network(text: str) -> _Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _ip(values: Sequence[str]) -> ValueTest:
    networks = [net for net in map(_network, values) if net is not None]
    ranges = [(net.version, int(net.network_address), int(net.netmask)) for net in networks]
    memo: dict[str, tuple[int, int]] = {}  # (version, number); version 0: not an address

    def address(text: str) -> tuple[int, int]:
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        try:
            parsed: _Address = ipaddress.ip_address(text.strip())
            found: tuple[int, int] = (parsed.version, int(parsed))
        except ValueError:
            found = (0, 0)
        memo[text] = found
        return found

    def test(value: str) -> bool | None:
        version, number = memo.get(value) or address(value)
        if not version:
            return None
        for v, net, mask in ranges:  # noqa: SIM110 - not any(generator): runs per request
            if v == version and number & mask == net:
                return True
        return False

    return test


def static_value_test(base: str, values: Sequence[str]) -> ValueTest:
    """The value test of a base operator over literal policy values."""
    if base in ("StringEquals", "StringNotEquals"):
        return frozenset(values).__contains__
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "Bool"):
        folded = frozenset(value.lower() for value in values)
        return lambda value: value.lower() in folded
    if base in ("StringLike", "StringNotLike"):
        return compile_glob_set(values, arn=False)
    if base.startswith("Arn"):
        return compile_glob_set(values, arn=True)
    if base.startswith("Numeric"):
        return _ordered(parse_number, _COMPARISONS[base[len("Numeric") :]], values)
    if base.startswith("Date"):
        return _ordered(parse_date, _COMPARISONS[base[len("Date") :]], values)
    if base == "BinaryEquals":
        return _binary(values)
    if base in ("IpAddress", "NotIpAddress"):
        return _ip(values)
    raise ValueError(f"no value test for operator {base}")
