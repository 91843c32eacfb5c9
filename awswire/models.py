"""Typed access to botocore's service models: the only source of wire shapes in this package.

botocore is untyped; everything it returns is kept behind the small functions here so the
rest of `awswire` reads shapes through names, not ``Any`` attribute soup.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, cast

from awswire.errors import AwsError

__all__ = [
    "Shape",
    "api_version",
    "input_shape",
    "modeled_error",
    "operation_model",
    "output_shape",
    "result_wrapper",
    "service_model",
    "shape_members",
    "wire_name",
]

Shape = Any
"""A ``botocore.model.Shape``; botocore has no type information to offer."""


@functools.cache
def _session() -> Any:
    # imported on first use: a process that never reads a model (most replicas, most of their
    # life) does not pay botocore's import, a tenth of a second of CPU per process start
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> Any:
    """The botocore ``ServiceModel`` for ``service`` ("iam", "sts", "organizations"), cached."""
    return _session().get_service_model(service)


@functools.cache
def _operation_names(service: str) -> frozenset[str]:
    return frozenset(cast(list[str], service_model(service).operation_names))


def operation_model(service: str, operation: str) -> Any | None:
    """The botocore ``OperationModel`` named ``operation``, or None if the service has none."""
    if operation not in _operation_names(service):
        return None
    return service_model(service).operation_model(operation)


def api_version(service: str) -> str:
    """The API version string of ``service`` (e.g. ``2010-05-08`` for IAM)."""
    return str(service_model(service).api_version)


def metadata(service: str, key: str) -> str:
    """One string entry of the service's metadata (``xmlNamespace``, ``targetPrefix``...)."""
    return str(service_model(service).metadata.get(key, ""))


def input_shape(service: str, operation: str) -> Shape | None:
    """The input structure shape of an operation, or None when it takes no input."""
    model = operation_model(service, operation)
    return None if model is None else model.input_shape


def output_shape(service: str, operation: str) -> Shape | None:
    """The output structure shape of an operation, or None when it returns nothing."""
    model = operation_model(service, operation)
    return None if model is None else model.output_shape


def result_wrapper(shape: Shape) -> str | None:
    """The Query protocol ``resultWrapper`` element name of an output shape, if any."""
    wrapper = shape.serialization.get("resultWrapper")
    return None if wrapper is None else str(wrapper)


def shape_members(shape: Shape) -> Mapping[str, Shape]:
    """The members of a structure shape, in model order."""
    return cast(Mapping[str, Shape], shape.members)


def wire_name(member: str, shape: Shape) -> str:
    """The name a member travels under on the wire (its ``locationName`` or its own name)."""
    return str(shape.serialization.get("name", member))


def modeled_error(service: str, shape_name: str, message: str) -> AwsError:
    """An :class:`AwsError` for a modelled exception shape, with the model's code and status.

    Query services give many exceptions a wire code different from the shape name
    (``EntityAlreadyExistsException`` travels as ``EntityAlreadyExists``); this reads it.
    """
    shape = service_model(service).shape_for(shape_name)
    error = cast(Mapping[str, Any], shape.metadata.get("error", {}))
    code = str(error.get("code", shape_name))
    status = int(error.get("httpStatusCode", 400))
    sender = bool(error.get("senderFault", status < 500))
    return AwsError(code, message, status, sender)
