"""What every IAM action handler is: a pure function from state and parameters to an outcome.

Handlers never touch Redis or HTTP. A handler validates against the projection, builds the
AWS-shaped result, and names at most one change; the writer appends it and only then is the
result sent back. That keeps "one event per accepted call" true by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from awswire.errors import AwsError, service_failure
from replication.entities import Entity, EntityKey
from replication.events import BatchChange, ChangeKind, ChangePayload, kind_of
from replication.state import IamState

__all__ = [
    "Change",
    "Handler",
    "HandlerResult",
    "Operation",
    "OperationKind",
    "Params",
    "PassedRole",
    "Requester",
    "ResourceOf",
    "answered_at_the_edge",
    "any_resource",
    "listing_resource",
]

Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Requester:
    """Who sent an IAM or Organizations request, as the handlers need it: the account the call
    acts in, the authenticated principal's ARN and, for an IAM user, its name.

    Named apart from the data plane's callers (the principal a data-plane request is
    authenticated as, with its policies) and the engine's caller kind: this one only tells a
    handler whose account and whose user a call is about.
    """

    account: str
    arn: str
    user_name: str | None  # None for the root user and for role sessions

    @property
    def is_root(self) -> bool:
        """Whether the caller is the account's root user."""
        return self.arn.endswith(":root")

    def user_named_or_self(self, params: Params) -> str | None:
        """``UserName`` from the call, else the caller's own user (None: the root user).

        A role or federated session has no user of its own and must name one, as in AWS.
        """
        name: str | None = params.get("UserName") or self.user_name
        if name is None and not self.is_root:
            raise AwsError(
                "ValidationError",
                "Must specify userName when calling with non-User credentials",
                400,
            )
        return name

    @classmethod
    def from_arn(cls, arn: str) -> Requester:
        """The caller an authenticated principal ARN names (user, root or session)."""
        account = arn.split(":")[4]
        resource = arn.split(":", 5)[5]
        user = resource.rsplit("/", 1)[-1] if resource.startswith("user/") else None
        return cls(account, arn, user)


@dataclass(frozen=True, slots=True)
class Change:
    """The one change an accepted write makes: an entity put, a key deleted, or a batch.

    Built with ``Change.put(entity)``, ``Change.delete(key)`` or ``Change.batch(entities,
    deletes)``: the event kind follows from the entity's type (or the key's), so a handler
    cannot name a kind its payload is not.
    """

    kind: ChangeKind
    payload: ChangePayload

    @classmethod
    def put(cls, entity: Entity) -> Change:
        """The whole entity, as it is after the change."""
        return cls(kind_of(entity), entity)

    @classmethod
    def delete(cls, key: EntityKey) -> Change:
        """The key of an entity that is gone."""
        return cls(kind_of(key), key)

    @classmethod
    def batch(cls, entities: Sequence[Entity], deletes: Sequence[EntityKey] = ()) -> Change:
        """Whole entities one call changes together, put after ``deletes`` (the keys a rename
        moves them from) are gone; folded atomically."""
        change = BatchChange(entities=tuple(entities), deletes=tuple(deletes))
        return cls(kind_of(change), change)


@dataclass(frozen=True, slots=True)
class HandlerResult:
    """What a handler returns: the result members of the AWS response, and the change to
    append. (Not an authorization outcome: the data plane decides those.)"""

    result: dict[str, Any]
    change: Change | None = None


@dataclass(frozen=True, slots=True)
class PassedRole:
    """A role a call hands to an AWS service: AWS also authorizes ``iam:PassRole`` on it."""

    arn: str
    #: the ``iam:PassedToService`` context key of that authorization
    service: str
    #: the ``iam:AssociatedResourceArn`` context key (what the role will be used by)
    associated_resource: str


Handler = Callable[[IamState, Params, Requester, datetime], HandlerResult]
ResourceOf = Callable[[IamState, Params, Requester], str]


def any_resource(state: IamState, params: Params, caller: Requester) -> str:
    """The resource of actions authorized on ``*`` (they name no resource of their own)."""
    return "*"


def answered_at_the_edge(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """The handler of actions the API edge answers itself (they need the data plane or Redis
    beside the projection): the writer never runs it."""
    raise service_failure("This action is answered by the API edge, not the writer.")


def listing_resource(kind: str) -> ResourceOf:
    """The resource a List* call of ``kind`` (``user``, ``role``...) is authorized on: the
    kind's ARN up to the call's PathPrefix, e.g. ``arn:aws:iam::ACCT:user/``."""

    def resource(state: IamState, params: Params, caller: Requester) -> str:
        return f"arn:aws:iam::{caller.account}:{kind}{params.get('PathPrefix', '/')}"

    return resource


class OperationKind(StrEnum):
    """How an action is answered, which decides whether it appends to the log."""

    #: the writer answers from its projection; nothing is appended
    READ = "read"
    #: the writer validates against the log's tip and appends exactly one event, then answers
    WRITE = "write"
    #: the us-east-1 data plane evaluates; the API edge builds its queries and shapes the answer
    SIMULATION = "simulation"
    #: the API edge answers from what Redis keeps beside the log (key uses, credential reports)
    CREDENTIAL_USAGE = "credential-usage"


@dataclass(frozen=True, slots=True)
class Operation:
    """An IAM or Organizations action: its literal AWS name, its handler, the resource it is
    authorized on, and how it is answered."""

    name: str
    handler: Handler
    resource: ResourceOf
    kind: OperationKind
    service: str = "iam"
    #: a second resource the caller must also be allowed on (a rename's target), if any
    target: Callable[[IamState, Params, Requester], str | None] | None = None
    #: the role the call passes to a service, which the caller must be allowed to pass
    passed_role: Callable[[IamState, Params, Requester], PassedRole] | None = None

    @property
    def writes(self) -> bool:
        """Whether an accepted call appends an event to the log."""
        return self.kind is OperationKind.WRITE

    @property
    def iam_action(self) -> str:
        """The action name policies use, e.g. ``iam:CreateUser``."""
        return f"{self.service}:{self.name}"
