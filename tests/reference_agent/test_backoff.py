"""Reconnect delays: exponential growth of the ceiling, a cap, full jitter below it."""

from __future__ import annotations

import random

import pytest

from leedz.reference_agent.backoff import BASE_SECONDS, CAP_SECONDS, ceiling, reconnect_delay


class TestCeiling:
    def test_starts_at_the_base_and_doubles(self) -> None:
        assert [ceiling(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]

    def test_stops_at_the_cap(self) -> None:
        assert ceiling(6) == CAP_SECONDS  # 32 s would exceed 30 s
        assert ceiling(10_000) == CAP_SECONDS  # no overflow however long the outage

    def test_negative_attempt_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="from 0"):
            ceiling(-1)


class TestJitter:
    @pytest.mark.parametrize("attempt", [0, 1, 3, 5, 8, 50])
    def test_delay_stays_between_zero_and_the_ceiling(self, attempt: int) -> None:
        rng = random.Random(attempt)
        delays = [reconnect_delay(attempt, draw=rng.random) for _ in range(500)]
        assert all(0 <= d <= ceiling(attempt) for d in delays)

    def test_extremes_of_the_draw(self) -> None:
        assert reconnect_delay(3, draw=lambda: 0.0) == 0.0
        assert reconnect_delay(3, draw=lambda: 1.0) == BASE_SECONDS * 8

    def test_delays_spread_over_the_whole_window(self) -> None:
        rng = random.Random(7)
        delays = [reconnect_delay(4, draw=rng.random) for _ in range(2000)]
        assert len({round(d, 3) for d in delays}) > 1000  # not a few fixed values
        assert min(delays) < 0.1 * ceiling(4)
        assert max(delays) > 0.9 * ceiling(4)
        assert 0.45 * ceiling(4) < sum(delays) / len(delays) < 0.55 * ceiling(4)

    def test_mean_delay_grows_until_the_cap(self) -> None:
        rng = random.Random(11)
        means = [
            sum(reconnect_delay(n, draw=rng.random) for _ in range(2000)) / 2000 for n in range(8)
        ]
        assert means[:6] == sorted(means[:6])
        assert means[6] == pytest.approx(CAP_SECONDS / 2, rel=0.1)

    def test_custom_base_and_cap(self) -> None:
        assert reconnect_delay(2, base=1.0, cap=3.0, draw=lambda: 1.0) == 3.0
        assert reconnect_delay(1, base=1.0, cap=3.0, draw=lambda: 0.5) == 1.0
