"""``GET /state``: where one replica stands, as JSON (read by the harness and operators)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["HaltedAt", "ReplicaState"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HaltedAt(_Strict):
    """Where a halted replica stopped: the last version it applies, the entry after it that
    cannot be applied, why (``replication.entries.BadReason``), and since when."""

    version: int
    bad_version: int
    reason: str
    detail: str
    kind: str | None
    since: float | None


class ReplicaState(_Strict):
    """``GET /state``: where this replica stands (``halted`` is set while it is HALTED)."""

    region: str
    az: str
    version: int
    read_version: int
    lag_ms: float
    digest: str
    status: str
    entities: int
    last_applied_at: float | None
    halted: HaltedAt | None = None
    delay_seed: int
