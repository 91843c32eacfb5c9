"""The control plane's histograms count each observation under its own labels (the labelled
children are looked up once and kept)."""

from __future__ import annotations

from controlplane.metrics import ControlPlaneMetrics
from controlplane.stages import StageTimes
from replication.log import RedisChangeLog, connect
from replication.state import empty_state

STAGE_COUNT = "iam_planes_controlplane_stage_seconds_count"
STAGE_SUM = "iam_planes_controlplane_stage_seconds_sum"


def _times(**seconds: float) -> StageTimes:
    times = StageTimes()
    times.durations.update(seconds)
    return times


def test_each_stage_is_counted_under_its_call_and_stage() -> None:
    # never connected: observing needs no Redis
    metrics = ControlPlaneMetrics(RedisChangeLog(connect("redis://127.0.0.1:1/0")), empty_state)
    metrics.observe_stages(True, _times(parse=0.001, hop=0.002))
    metrics.observe_stages(True, _times(parse=0.003))
    metrics.observe_stages(False, _times(parse=0.004))
    metrics.observe_append("user.put", 0.005)
    metrics.observe_append("user.put", 0.006)
    metrics.observe_append("policy.put", 0.007)

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert sample(STAGE_COUNT, call="write", stage="parse") == 2
    assert sample(STAGE_SUM, call="write", stage="parse") == 0.001 + 0.003
    assert sample(STAGE_COUNT, call="write", stage="hop") == 1
    assert sample(STAGE_COUNT, call="read", stage="parse") == 1
    assert sample(STAGE_COUNT, call="read", stage="hop") is None
    assert sample("iam_planes_append_seconds_count", kind="user.put") == 2
    assert sample("iam_planes_append_seconds_count", kind="policy.put") == 1
