""" "Is this answer only stale?": the replica's answer against the answer at the log's head.

A replica has read events it has not applied yet (it holds each for its delay). Folding them
onto its state, without waiting, gives the state at the newest version it has read, which is
the log's head but for the moment a push takes. If the same question gets another answer
there, the answer given now is *stale*: a pending change will flip it, at a time the replica
already knows (the change's due time). A denial that no pending change flips is not stale: waiting
will not help.

Any surface of the data plane (``/authorize``, STS, the service gateway) uses ``stale_verdict``
with a function that answers its question at a given state, and sends the verdict in the
``x-iam-planes-stale`` header, so the AWS-shaped bodies stay exactly AWS's.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from dataplane.replica import Replica
from replication.ids import account_of_access_key
from replication.state import IamState, apply

__all__ = [
    "StaleAnswers",
    "StaleVerdict",
    "account_of_principal",
    "parse_stale_header",
    "stale_verdict",
]

#: how many pending versions are tried one by one to find the one that flips the answer
_FLIP_SEARCH_LIMIT = 64
_KEPT = 5_000

AnswerCode = str
"""An answer reduced to what a caller sees: ``Allow``, ``ImplicitDeny``, ``ExplicitDeny``,
``Success``, or an error code such as ``InvalidClientTokenId``."""


@dataclass(frozen=True, slots=True)
class StaleVerdict:
    """Whether the answer given at ``version`` differs from the answer at ``head_version``."""

    stale: bool
    version: int
    outcome: AnswerCode
    head_version: int
    head_outcome: AnswerCode
    #: the first version after ``version`` at which the answer becomes the head's (pending,
    #: or applied while the request awaited I/O; None: not stale)
    flips_at_version: int | None = None
    #: when this replica's delay applies that version, from now (0: applied already; None:
    #: not stale)
    due_in_ms: float | None = None

    def fields(self) -> dict[str, Any]:
        """The verdict as JSON fields (built by hand: asdict's deep copy is slow on the hot
        path, where every denial carries a verdict)."""
        return {
            "stale": self.stale,
            "version": self.version,
            "outcome": self.outcome,
            "head_version": self.head_version,
            "head_outcome": self.head_outcome,
            "flips_at_version": self.flips_at_version,
            "due_in_ms": self.due_in_ms,
        }

    def header(self) -> str:
        """The ``x-iam-planes-stale`` header's value (compact JSON)."""
        return orjson.dumps(self.fields()).decode()


def parse_stale_header(value: str) -> StaleVerdict:
    """A verdict back from its header (clients and tests)."""
    return StaleVerdict(**orjson.loads(value))


def stale_verdict(
    replica: Replica,
    state: IamState,
    outcome: AnswerCode,
    outcome_at: Callable[[IamState], AnswerCode],
    now: float,
) -> StaleVerdict:
    """Compare ``outcome`` (the answer at ``state``) with ``outcome_at`` the head state.

    ``state`` is one the replica had when the answer was made, possibly before the request
    awaited I/O while the replica applied more events: the search for the flipping version
    folds the events after ``state`` whether they are still pending or applied since (then
    due in 0 ms). It gives up after ``_FLIP_SEARCH_LIMIT`` versions, or when the replica no
    longer holds those events, and names the head's version and due time."""
    head = replica.head_state()
    if head.version <= state.version:
        return StaleVerdict(False, state.version, outcome, state.version, outcome)
    head_outcome = outcome_at(head)
    if head_outcome == outcome:
        return StaleVerdict(False, state.version, outcome, head.version, head_outcome)
    events = replica.events_after(state.version)
    if events is None:  # the replica has moved too far past ``state`` to search
        pending = replica.pending()
        last_due = pending[-1][0] if pending else now
        return StaleVerdict(
            True,
            state.version,
            outcome,
            head.version,
            head_outcome,
            head.version,
            _due_in_ms(last_due, now),
        )
    flips_at, due = head.version, None
    folded = state
    for tried, (event_due, event) in enumerate(events):
        folded = apply(folded, event)
        if event.version == head.version or tried >= _FLIP_SEARCH_LIMIT:
            flips_at, due = head.version, events[-1][0]
            break
        if outcome_at(folded) == head_outcome:
            flips_at, due = event.version, event_due
            break
    due_in_ms = None if due is None else _due_in_ms(due, now)
    return StaleVerdict(
        True, state.version, outcome, head.version, head_outcome, flips_at, due_in_ms
    )


def _due_in_ms(due: float, now: float) -> float:
    """How long from ``now`` until ``due`` (0: already due, or applied)."""
    return round(max(0.0, due - now) * 1000, 3)


def account_of_principal(principal: Any) -> str | None:
    """The account a query's principal names: an ARN's, or an access key id's."""
    if isinstance(principal, str):
        parts = principal.split(":")
        return parts[4] if principal.startswith("arn:") and len(parts) > 5 and parts[4] else None
    if isinstance(principal, dict):
        key = principal.get("access_key_id")
        return account_of_access_key(key) if isinstance(key, str) else None
    return None


class StaleAnswers:
    """The recent stale answers a replica gave, for ``GET /stale`` (what a test's code met)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._rows: deque[dict[str, Any]] = deque(maxlen=_KEPT)

    def note(self, verdict: StaleVerdict, account: str | None, principal: str, action: str) -> None:
        """Remember one stale answer."""
        if verdict.stale:
            self._rows.append(
                {
                    "at": self._clock(),
                    "account": account,
                    "principal": principal,
                    "action": action,
                    **verdict.fields(),
                }
            )

    def of(self, account: str | None, since: float = 0.0) -> list[dict[str, Any]]:
        """Stale answers given to ``account`` (every account when None) since ``since``."""
        return [
            row
            for row in self._rows
            if row["at"] >= since and (account is None or row["account"] == account)
        ]
