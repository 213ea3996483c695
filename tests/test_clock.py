"""core.clock: the one clock, and the one switch that retells the past (the demo story)."""

import datetime as dt

import pytest
from django.utils import timezone

from core import clock


def test_told_at_sets_now_and_today_within_the_block_only():
    moment = timezone.now() - dt.timedelta(days=100)
    with clock.told_at(moment):
        assert clock.now() == moment
        assert clock.today() == timezone.localdate(moment)
    assert abs(clock.now() - timezone.now()) < dt.timedelta(seconds=5)
    assert clock.today() == timezone.localdate()


def test_told_at_refuses_a_naive_or_future_moment():
    with pytest.raises(ValueError), clock.told_at(dt.datetime(2025, 1, 1, 9, 0)):
        pass
    with pytest.raises(ValueError), clock.told_at(timezone.now() + dt.timedelta(hours=1)):
        pass
    assert abs(clock.now() - timezone.now()) < dt.timedelta(seconds=5)
