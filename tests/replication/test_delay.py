"""Delay distributions: fixed, uniform, log-normal; a draw is a pure function of its inputs."""

from __future__ import annotations

import statistics

import pytest

from replication.delay import DelaySpec, parse_delay_option

UNIFORM = DelaySpec(base_ms=1000, jitter_ms=300)
LOGNORMAL = DelaySpec(base_ms=800, distribution="lognormal", p99_ms=5000)
AZS = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def _draws(spec: DelaySpec, seed: int) -> list[int]:
    return [spec.draw(seed, version, "eu-west-1", az) for version in range(1, 200) for az in AZS]


@pytest.mark.parametrize("spec", [UNIFORM, LOGNORMAL], ids=["uniform", "lognormal"])
def test_the_same_seed_replays_the_same_delays_and_another_seed_does_not(spec: DelaySpec) -> None:
    assert _draws(spec, 42) == _draws(spec, 42)
    assert _draws(spec, 42) != _draws(spec, 43)


def test_a_draw_depends_on_version_region_and_az() -> None:
    first = UNIFORM.draw(7, 10, "eu-west-1", "eu-west-1a")
    others = {
        UNIFORM.draw(7, version, region, region + suffix)
        for version in (10, 11, 12)
        for region in ("eu-west-1", "ap-northeast-1")
        for suffix in "abc"
    }
    assert len(others) > 1
    assert first in others


def test_fixed_delays_never_vary() -> None:
    assert set(_draws(DelaySpec(base_ms=250), 1)) == {250}


def test_uniform_draws_cover_the_whole_range_and_no_more() -> None:
    draws = _draws(UNIFORM, 5)
    assert min(draws) >= 700
    assert max(draws) <= 1300
    assert min(draws) < 760
    assert max(draws) > 1240


def test_lognormal_draws_have_the_median_and_99th_percentile_asked_for() -> None:
    draws = sorted(LOGNORMAL.draw(3, v, "r", "a") for v in range(1, 20_001))
    assert statistics.median(draws) == pytest.approx(800, rel=0.05)
    assert draws[int(0.99 * len(draws))] == pytest.approx(5000, rel=0.1)
    assert min(draws) >= 0


def test_delay_options_name_each_distribution() -> None:
    assert parse_delay_option("eu-west-1=500") == ("eu-west-1", DelaySpec(base_ms=500))
    assert parse_delay_option("eu-west-1=500+-100")[1] == DelaySpec(base_ms=500, jitter_ms=100)
    region, spec = parse_delay_option("ap-northeast-1=800~5000")
    assert region == "ap-northeast-1"
    assert spec == LOGNORMAL
    assert spec.render() == "800~5000"
    with pytest.raises(ValueError, match="REGION=P50~P99"):
        parse_delay_option("eu-west-1=fast")


def test_a_lognormal_needs_a_99th_percentile_above_its_median() -> None:
    with pytest.raises(ValueError, match="p99_ms >= base_ms"):
        DelaySpec(base_ms=800, distribution="lognormal", p99_ms=100)


def test_shifted_and_scaled_keep_the_distribution() -> None:
    assert LOGNORMAL.shifted(500) == DelaySpec(base_ms=1300, distribution="lognormal", p99_ms=5500)
    assert LOGNORMAL.scaled(0.1).p99_ms == 500
    assert LOGNORMAL.longest_ms == 5000
    assert UNIFORM.shortest_ms == 700
