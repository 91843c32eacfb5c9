"""Property: whatever botocore's Query serializer sends, the parser reads back unchanged."""

from __future__ import annotations

import functools
import re
import string
import sys
from datetime import UTC
from typing import Any

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awswire.query import parse_query_request
from tests.awswire.botocore_helpers import serialize_query_body

_CLASS_REPEAT = re.compile(r"\^?\[([^\]]+)\]([+*])\$?")
_P_ALPHABET = string.ascii_letters + string.digits + " _.:/=+-@éß日"
_MAX_TEXT = 24


def _string(shape: Any) -> st.SearchStrategy[str]:
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    low = shape.metadata.get("min", 0)
    high = min(shape.metadata.get("max", _MAX_TEXT), max(low, _MAX_TEXT))
    pattern = shape.metadata.get("pattern")
    if pattern is None:
        return st.text(min_size=low, max_size=high).filter(lambda s: "\r" not in s)
    if "\\p{" in pattern:
        return st.text(alphabet=_P_ALPHABET, min_size=max(low, 1), max_size=high)
    repeat = _CLASS_REPEAT.fullmatch(pattern)
    if repeat:
        minimum = max(low, 1 if repeat.group(2) == "+" else 0)
        alphabet = st.sampled_from(_members(repeat.group(1)))
        return st.text(alphabet=alphabet, min_size=minimum, max_size=high)
    compiled = re.compile(pattern, re.ASCII)
    return st.from_regex(compiled, fullmatch=True).filter(lambda s: low <= len(s) <= high)


@functools.cache
def _members(char_class: str) -> str:
    """Every character (bar CR) the class ``[char_class]`` matches, computed once: drawing from
    it is cheap, where ``from_regex`` on a class of a million code points took seconds."""
    compiled = re.compile(f"[{char_class}]", re.ASCII)
    return "".join(
        c for c in map(chr, range(sys.maxunicode + 1)) if c != "\r" and compiled.fullmatch(c)
    )


def _value(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        return _structure(shape, depth + 1).filter(bool)
    if kind == "list":
        low = meta.get("min", 0)
        return st.lists(_value(shape.member, depth), min_size=low, max_size=max(low, 3))
    if kind == "map":
        return st.dictionaries(
            _value(shape.key), _value(shape.value, depth), min_size=1, max_size=3
        )
    if kind == "string":
        return _string(shape)
    if kind in ("integer", "long"):
        bits = 31 if kind == "integer" else 63
        return st.integers(meta.get("min", -(2**bits)), meta.get("max", 2**bits - 1))
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.datetimes(timezones=st.just(UTC))
    if kind == "blob":
        return st.binary(min_size=meta.get("min", 0), max_size=32)
    raise AssertionError(f"no strategy for {kind}")


def _structure(shape: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    if depth > 4:
        return st.just({})
    required = {
        n: _value(m, depth) for n, m in shape.members.items() if n in shape.required_members
    }
    optional = {n: _value(m, depth) for n, m in shape.members.items() if n not in required}
    return st.fixed_dictionaries(required, optional=optional)


@functools.cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


@functools.cache
def _operations(service: str) -> list[str]:
    model = _model(service)
    return [name for name in model.operation_names if model.operation_model(name).input_shape]


@pytest.mark.parametrize("service", ["iam", "sts"])
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_botocore_serialized_params_parse_back_unchanged(service: str, data: st.DataObject) -> None:
    """For any operation and valid params, serialize with botocore then parse: params are equal."""
    operation = data.draw(st.sampled_from(_operations(service)), label="operation")
    shape = _model(service).operation_model(operation).input_shape
    params = data.draw(_structure(shape), label="params")
    body = serialize_query_body(service, operation, params)
    assert parse_query_request(service, body) == (operation, params)
